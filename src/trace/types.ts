/**
 * @module The public shapes of a trace: what a caller asks (`TraceRequest`), what it gets back
 * (`TraceResult`, the `--json` output of `cordon trace`), and the `TraceService` that answers it.
 */
import type { PlaceKind } from '../domain/formats.ts';
import type { Risk } from '../domain/risk.ts';

export type { Risk, RiskPart } from '../domain/risk.ts';

/** One run of the analysis for a case. Dates are local dates of the deployment's time zone. */
export interface TraceRequest {
  /** The case's identifier, `KIND:VALUE` (`phone:13800000000`, `id_card:…`, `person:…`). */
  id: string;
  /** Symptom onset, `YYYY-MM-DD`. The lookback starts from it (or from `sampled` when asymptomatic). */
  onset?: string;
  /** Sampling date of the positive test, `YYYY-MM-DD`; the anchor for an asymptomatic case. */
  sampled?: string;
  /** When the case was isolated: ISO 8601 time, or `YYYY-MM-DD` (then the end of that local day). Default: now. */
  isolated?: string;
  /** Anchor the lookback on `sampled` even when an onset is given. */
  asymptomatic?: boolean;
  /** Rule set name (`v8`, `v9`, or another loaded set). Default `v9`. */
  rules?: 'v8' | 'v9' | string;
  /** 1: close, companion and general contacts; 2: also secondary contacts of the close ones. Default 2. */
  degree?: 1 | 2;
  /** "Now" in epoch milliseconds, for reproducible runs and tests. Default `Date.now()`. */
  now?: number;
}

/** The lookback window actually used. */
export interface TraceWindow {
  /** ISO 8601 UTC, inclusive. */
  from: string;
  /** ISO 8601 UTC, exclusive. */
  to: string;
  /** Which date the lookback counted back from. */
  anchor: 'onset' | 'sampled';
  /** Days counted back (from the rule set). */
  lookbackDays: number;
  /** Why the window ends where it does. */
  until: 'isolated' | 'now';
}

/** One presence in a trajectory or in evidence: consecutive records at the same place merged into one. */
export interface TracePresence {
  /** `kind:id` of the place. */
  place: string;
  placeKind: PlaceKind;
  placeId: string;
  /** Seat (`carriage-row-seat`) or room, when known. */
  sub?: string;
  /** ISO 8601 UTC, inclusive. */
  start: string;
  /** ISO 8601 UTC, exclusive. */
  end: string;
  /** The source gave only a date: the interval is the whole local day (low confidence). */
  dateOnly: boolean;
  /** At least one merged record was a point event given its kind's default dwell. */
  pointEvent: boolean;
  /** How many stored records were merged into this one. */
  records: number;
}

/** Which evidence category a contact falls in. */
export type ContactCategory = 'close' | 'secondary' | 'companion' | 'general';

/** Why a pair of presences makes a contact. */
export interface ContactEvidence {
  /** The rule that matched, e.g. `vehicle-rows`, `duration`, `household`, `hotel-room`, `companion`. */
  rule: string;
  /** Readable reason: "same carriage 07, 2 rows apart", "overlap 42 min ≥ 15 min". */
  why: string;
  /** Category this pair alone gives. */
  category: ContactCategory;
  /** The presence of the person traced through (the case for degree 1, the `via` contact for degree 2). */
  source: TracePresence;
  /** The contact's presence. */
  contact: TracePresence;
  /** Seconds the two intervals share (after clipping to the window). */
  overlapSeconds: number;
  /** Rows apart in the same vehicle, when both seats are known. */
  seatDistance?: number;
  /** Either side is date-only. */
  lowConfidence: boolean;
}

/** A person, listed with every identifier known for them. */
export interface TracedPerson {
  /** Stable person key, as identity resolution gives it: the first identifier in kind order (the ID card when known). */
  key: string;
  /** All identifiers, `kind:value`, in kind order (ID cards first), then by value. Shared between results (frozen): copy to change. */
  ids: readonly string[];
}

/** One contact of the case. */
export interface TraceContact extends TracedPerson {
  degree: 1 | 2;
  category: ContactCategory;
  /** For degree 2: the person key of the close contact the exposure came through. */
  via?: string;
  /** Start of the first qualifying exposure, ISO 8601 UTC. */
  firstExposure: string;
  /** The pairs of presences that make this contact, strongest first. */
  evidence: ContactEvidence[];
  risk: Risk;
}

/** The answer of one trace (`cordon trace --json`). */
export interface TraceResult {
  person: TracedPerson;
  window: TraceWindow;
  rules: { name: string; version: string };
  /** The case's presences in the window, ordered by start, merged where consecutive ones are the same place. */
  trajectory: TracePresence[];
  /** Ordered by degree, then category, then risk (highest first), then key. */
  contacts: TraceContact[];
  /** Counts for the summary line. */
  summary: { close: number; secondary: number; companion: number; general: number; elapsedMs: number };
}

/** Runs traces. Implemented over the in-memory index, or pushed down to a store that can answer it. */
export interface TraceService {
  /** Traces one case: window, trajectory, contacts with evidence and risk. Throws on a bad request (clear message). */
  trace(req: TraceRequest): Promise<TraceResult>;
}
