/**
 * @module Redaction for log lines: no personal data (phone numbers, ID cards, person keys) may reach a
 * log. Requests are logged by route pattern, never by URL, and error messages pass through here.
 */

/** Masks every run of 6 or more digits (phones, ID cards, transit cards) and any `kind:value` identifier. */
export function redactText(text: string): string {
  return text
    .replace(/\b(id_card|phone|card|plate|passport|person):[^\s,;"')\]}]+/g, '$1:[redacted]')
    .replace(/\d{6,}[\dXx]?/g, '[redacted]');
}
