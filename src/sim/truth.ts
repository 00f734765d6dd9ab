/**
 * @module The ground truth of a generated city: who infected whom, where and when, onset dates,
 * and every deliberate imperfection of the data files. It never goes into the presence files;
 * tests and benchmarks compare what Cordon finds against it.
 */
import fs from 'node:fs';
import type { PlaceKind } from '../domain/formats.ts';

/** Why a row is malformed; ingest should reject each of these with a matching reason. */
export type MalformedLabel =
  | 'bad_date'
  | 'empty_id'
  | 'wrong_column_count'
  | 'end_before_start'
  | 'unknown_place_kind'
  | 'unknown_id_kind';

export interface TruthInfection {
  /** `id_card:…` of the infectious person. */
  infector: string;
  /** `id_card:…` of the person infected. */
  infectee: string;
  place_kind: PlaceKind;
  place_id: string;
  /** The infectee's seat or room (`07-12-F`, `0812`) when the place has one. */
  sub?: string;
  /** The infector's seat or room. */
  infector_sub?: string;
  /** When the transmission happened: the middle of the exposure, ISO 8601 with offset. */
  at: string;
  /** Length of the true overlap of the two stays. */
  overlap_seconds: number;
  exposure_start: string;
  exposure_end: string;
}

export interface TruthCase {
  id: string;
  /** Infected inside the city (false for index cases, infected before the window or elsewhere). */
  index: boolean;
  /** The day of infection, `YYYY-MM-DD` (for index cases an estimate before arrival). */
  infected_on: string;
  /** Symptom onset `YYYY-MM-DD`; null for an asymptomatic case. */
  onset: string | null;
  /** For an asymptomatic case: the sampling date that found it (the day that would have been onset). */
  sampled: string | null;
  asymptomatic: boolean;
  /** First day of infectiousness: two days before onset (or before sampling). */
  infectious_from: string;
  /** Day the case is isolated (symptomatic cases: two days after onset, possibly after the window); null for asymptomatic cases. */
  isolated: string | null;
  /** For index cases who arrived during the window: how (place_kind, place_id, sub, arrival time). */
  arrival?: { place_kind: PlaceKind; place_id: string; sub?: string; at: string; from: string };
}

export interface TruthMalformedRow {
  file: string;
  /** 1-based; the header is line 1. */
  line: number;
  label: MalformedLabel;
}

export interface TruthWrongLink {
  file: string;
  line: number;
  a_kind: string;
  a_value: string;
  b_kind: string;
  b_value: string;
  /** `id_card:…` of the person the b identifier really belongs to. */
  true_owner: string;
  why: string;
}

export interface Truth {
  format: 'cordon-sim-truth/1';
  seed: number;
  options: { people: number; days: number; start: string; timeZone: string };
  high_risk_region: string;
  /** `id_card:…` of every index case. */
  index_cases: string[];
  /** Every infected person, index cases first, then in order of infection. */
  cases: TruthCase[];
  infections: TruthInfection[];
  /** `id_card:…` → onset date, symptomatic cases only. */
  onsets: Record<string, string>;
  asymptomatic: string[];
  malformed_rows: TruthMalformedRow[];
  /** Exact duplicate lines (the second copy follows the first), per file. */
  duplicate_rows: Record<string, number>;
  /** Rows whose start is a date alone, per file (an exact duplicate of one is counted in `duplicate_rows` only). */
  date_only_rows: Record<string, number>;
  wrong_identity_links: TruthWrongLink[];
  /** Residents and visitors with a train, flight or car trip in or out during the window. */
  travellers: number;
  /** `id_card:…` of visitors who arrived from the high-risk region. */
  high_risk_arrivals: string[];
}

/** Reads and checks a truth file written by `generateCity`. */
export function readTruth(path: string): Truth {
  const raw: unknown = JSON.parse(fs.readFileSync(path, 'utf8'));
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== 'cordon-sim-truth/1') {
    throw new Error(`${path}: not a Cordon truth file (expected "format": "cordon-sim-truth/1")`);
  }
  return raw as Truth;
}
