/**
 * @module How loop records leave the server: person keys become opaque references and identifiers are
 * masked (design.md: masked in lists; unmasking is a separate, audited call).
 */
import type { CaseRecord, CommandRecord, ExposureRecord, LeadRecord, PersonStatusRecord } from '../stores/records/records-store.ts';
import type { TraceContact, TraceResult } from '../trace/types.ts';
import type { PersonRefCodec } from './person-ref.ts';

export function caseOut(refs: PersonRefCodec, c: CaseRecord): Record<string, unknown> {
  const { personKey, ids, ...rest } = c;
  return { ...rest, ...refs.person(personKey, ids) };
}

export function leadOut(refs: PersonRefCodec, l: LeadRecord): Record<string, unknown> {
  const { personKey, ids, viaPersonKey, ...rest } = l;
  return { ...rest, ...refs.person(personKey, ids), viaPersonRef: viaPersonKey ? refs.encode(viaPersonKey) : null };
}

export function exposureOut(refs: PersonRefCodec, e: ExposureRecord): Record<string, unknown> {
  const { personKey, ids, viaPersonKey, ...rest } = e;
  return { ...rest, ...refs.person(personKey, ids), viaPersonRef: viaPersonKey ? refs.encode(viaPersonKey) : null };
}

export function commandOut(refs: PersonRefCodec, c: CommandRecord): Record<string, unknown> {
  const { personKey, ...rest } = c;
  return { ...rest, personRef: refs.encode(personKey) };
}

export function personStatusOut(refs: PersonRefCodec, p: PersonStatusRecord): Record<string, unknown> {
  const { personKey, ids, ...rest } = p;
  return { ...rest, ...refs.person(personKey, ids) };
}

function contactOut(refs: PersonRefCodec, c: TraceContact): Record<string, unknown> {
  const { key, ids, via, ...rest } = c;
  return { ...rest, ...refs.person(key, ids), viaPersonRef: via ? refs.encode(via) : null };
}

/** A trace result with every person as a reference and masked identifiers. */
export function traceOut(refs: PersonRefCodec, t: TraceResult): Record<string, unknown> {
  return {
    person: refs.person(t.person.key, t.person.ids),
    window: t.window,
    rules: t.rules,
    trajectory: t.trajectory,
    contacts: t.contacts.map((c) => contactOut(refs, c)),
    summary: t.summary,
  };
}
