/**
 * @module Default dwell times: how long a point event (a presence with a start but no end) is taken
 * to last, by kind of place. The choices follow how each feed records people:
 * - venue QR scans (场所码) are taken on entry only; 30 min is a typical stay at a shop, restaurant or
 *   card room, and is long enough that two people scanning 15 min apart are compared at all;
 * - metro and bus swipes mark boarding: 30 min covers a typical urban ride;
 * - checkpoint scans (卡口) are a pass through a screening point: 5 min;
 * - hospital registrations: 60 min, a typical outpatient visit;
 * - hotel check-ins without a check-out: 12 h, one night;
 * - household, workplace and school records without an end: 8 h, a night at home or a working day;
 * - train and flight manifests without arrival time: 2 h; telecom stays always have an end in
 *   practice, 30 min otherwise (a typical telecom sampling interval).
 * Rule sets may treat point events as lower confidence; the presence is flagged `pointEvent`.
 */
import type { PlaceKind } from './formats.ts';

/** Default dwell in seconds of a point event at each kind of place. */
export const DEFAULT_DWELL_SECONDS: Readonly<Record<PlaceKind, number>> = {
  venue: 30 * 60,
  metro: 30 * 60,
  bus: 30 * 60,
  checkpoint: 5 * 60,
  hospital: 60 * 60,
  hotel: 12 * 3600,
  household: 8 * 3600,
  workplace: 8 * 3600,
  school: 8 * 3600,
  train: 2 * 3600,
  flight: 2 * 3600,
  cell: 30 * 60,
};

/** The dwell of a point event at this kind of place, in seconds. */
export function defaultDwellSeconds(kind: PlaceKind): number {
  return DEFAULT_DWELL_SECONDS[kind];
}
