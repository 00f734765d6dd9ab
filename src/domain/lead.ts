/**
 * @module Leads (线索): who needs action after a trace, and deduplication. A person has at most one
 * open lead; a new exposure of someone with an open lead joins that lead, and a new exposure of someone
 * already under control (isolated, in hospital, a case) is linked to them without a new command.
 */
import { ID_KINDS, parseIdKey } from './formats.ts';

/** Contact categories from the trace, plus contacts named in feedback and key persons. */
export const CONTACT_CATEGORIES = ['close', 'secondary', 'companion', 'general', 'named', 'key_person'] as const;
export type ContactCategory = (typeof CONTACT_CATEGORIES)[number];

export const LEAD_STATUSES = ['open', 'closed'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/**
 * A person's status as the loop knows it. `contact`: has an open lead. The controlled statuses
 * (home control, centralized isolation, hospital, case) stop new verify commands.
 */
export const PERSON_STATUSES = [
  'contact', 'home_control', 'centralized_isolation', 'hospital', 'case', 'tested_negative', 'not_found',
] as const;
export type PersonStatus = (typeof PERSON_STATUSES)[number];

const CONTROLLED: ReadonlySet<PersonStatus> = new Set(['home_control', 'centralized_isolation', 'hospital', 'case']);

/** True when the person is already under control: a new exposure gets no new command. */
export function isControlled(status: PersonStatus | null | undefined): boolean {
  return status !== null && status !== undefined && CONTROLLED.has(status);
}

/**
 * What became of an exposure: `new_lead`; `joined_open_lead` (the person already had an open lead);
 * `linked_to_status` (already controlled); `recorded` (no push rule for its category: kept, not pushed).
 */
export const EXPOSURE_DISPOSITIONS = ['new_lead', 'joined_open_lead', 'linked_to_status', 'recorded'] as const;
export type ExposureDisposition = (typeof EXPOSURE_DISPOSITIONS)[number];

/** Decides an exposure's fate from the person's status, their open lead and whether a rule pushes it. */
export function decideExposure(input: {
  status: PersonStatus | null;
  hasOpenLead: boolean;
  pushable: boolean;
}): ExposureDisposition {
  if (isControlled(input.status)) return 'linked_to_status';
  if (input.hasOpenLead) return 'joined_open_lead';
  return input.pushable ? 'new_lead' : 'recorded';
}

/** Severity order of categories: when exposures join one lead, the lead keeps the most severe. */
const SEVERITY: Record<ContactCategory, number> = {
  key_person: 5, close: 4, named: 3, secondary: 2, companion: 1, general: 0,
};

/** The more severe of two categories. */
export function moreSevere(a: ContactCategory, b: ContactCategory): ContactCategory {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** Preference of identifier kinds for the person key: the most stable identifier names the person. */
const KEY_ORDER: Record<string, number> = Object.fromEntries(
  ['person', 'id_card', 'passport', 'phone', 'card', 'plate'].map((k, i) => [k, i]),
);

/**
 * The person key for a set of `kind:value` identifiers: the most stable kind first (resolved person,
 * ID card, passport, phone, transit card, plate), ties broken by text, so the same set of identifiers
 * always gives the same key. Throws on an empty list or a malformed identifier.
 */
export function personKeyOf(ids: readonly string[]): string {
  if (!ids.length) throw new Error('a person needs at least one identifier');
  let best: string | null = null;
  let bestRank = Infinity;
  for (const id of ids) {
    const { kind } = parseIdKey(id);
    const rank = KEY_ORDER[kind] ?? ID_KINDS.length;
    if (rank < bestRank || (rank === bestRank && best !== null && id < best)) {
      best = id;
      bestRank = rank;
    }
  }
  return best as string;
}

/** Sorted, deduplicated identifiers. */
export function normaliseIds(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort();
}
