/**
 * @module The canonical formats: the column sets Cordon reads and writes (CSV, JSON Lines, Parquet),
 * and the normalised shapes they become after validation. See docs/formats.md.
 */

/** Kinds of personal identifier. `person` means an identifier already resolved to a Cordon person key. */
export const ID_KINDS = ['id_card', 'phone', 'card', 'plate', 'passport', 'person'] as const;
export type IdKind = (typeof ID_KINDS)[number];

/** Kinds of place a presence can be at. */
export const PLACE_KINDS = [
  'household', 'workplace', 'school', 'venue', 'hotel', 'hospital',
  'train', 'flight', 'bus', 'metro', 'cell', 'checkpoint',
] as const;
export type PlaceKind = (typeof PLACE_KINDS)[number];

/** Place categories that refine a kind (venues mostly). Open-ended: unknown categories are kept as text. */
export const PLACE_CATEGORIES = [
  'card_room', 'elderly_center', 'bar', 'restaurant', 'market', 'pharmacy', 'hospital',
  'hotel', 'school', 'office', 'factory', 'station', 'airport', 'checkpoint', 'residence',
] as const;

/** Header columns of each canonical file kind; the kind of a file is recognised from its header. */
export const PRESENCE_COLUMNS = ['id_kind', 'id_value', 'place_kind', 'place_id', 'start', 'end', 'sub', 'lat', 'lon', 'source'] as const;
export const PRESENCE_REQUIRED = ['id_kind', 'id_value', 'place_kind', 'place_id', 'start'] as const;
export const IDENTITY_LINK_COLUMNS = ['a_kind', 'a_value', 'b_kind', 'b_value', 'source'] as const;
export const IDENTITY_LINK_REQUIRED = ['a_kind', 'a_value', 'b_kind', 'b_value'] as const;
export const PEOPLE_COLUMNS = ['id_kind', 'id_value', 'name', 'address', 'lat', 'lon', 'jurisdiction'] as const;
export const PEOPLE_REQUIRED = ['id_kind', 'id_value'] as const;
export const PLACE_COLUMNS = ['place_kind', 'place_id', 'name', 'lat', 'lon', 'jurisdiction', 'category'] as const;
export const PLACE_REQUIRED = ['place_kind', 'place_id'] as const;

export type FileKind = 'presences' | 'identity_links' | 'people' | 'places';

export const FILE_KINDS: Record<FileKind, { columns: readonly string[]; required: readonly string[] }> = {
  presences: { columns: PRESENCE_COLUMNS, required: PRESENCE_REQUIRED },
  identity_links: { columns: IDENTITY_LINK_COLUMNS, required: IDENTITY_LINK_REQUIRED },
  people: { columns: PEOPLE_COLUMNS, required: PEOPLE_REQUIRED },
  places: { columns: PLACE_COLUMNS, required: PLACE_REQUIRED },
};

/** A presence after validation and normalisation. Times are UTC epoch seconds. */
export interface Presence {
  idKind: IdKind;
  idValue: string;
  placeKind: PlaceKind;
  placeId: string;
  /** Inclusive start, epoch seconds (UTC). */
  start: number;
  /** Exclusive end, epoch seconds; always > start (point events get their kind's default dwell). */
  end: number;
  /** The source gave only a date: the interval is the whole local day and the evidence is low confidence. */
  dateOnly: boolean;
  /** The source gave no end: the interval is start + the kind's default dwell. */
  pointEvent: boolean;
  /** Where inside the place: `carriage-row-seat` for vehicles (`07-12-F`), a room for hotels. */
  sub?: string;
  lat?: number;
  lon?: number;
  source?: string;
}

/** Two identifiers of the same person. */
export interface IdentityLink {
  aKind: IdKind;
  aValue: string;
  bKind: IdKind;
  bValue: string;
  source?: string;
}

/** Who lives where. */
export interface PersonRecord {
  idKind: IdKind;
  idValue: string;
  name?: string;
  address?: string;
  lat?: number;
  lon?: number;
  jurisdiction?: string;
}

/** A known place. */
export interface PlaceRecord {
  placeKind: PlaceKind;
  placeId: string;
  name?: string;
  lat?: number;
  lon?: number;
  jurisdiction?: string;
  category?: string;
}

/** `kind:value`, the way every identifier is written in outputs (`phone:13800000000`). */
export function idKey(kind: IdKind, value: string): string {
  return `${kind}:${value}`;
}

/** Parses `kind:value`; throws with a clear message when the kind is unknown or the value empty. */
export function parseIdKey(key: string): { kind: IdKind; value: string } {
  const i = key.indexOf(':');
  if (i <= 0) throw new Error(`identifier "${key}" must be KIND:VALUE, e.g. phone:13800000000`);
  const kind = key.slice(0, i);
  const value = key.slice(i + 1).trim();
  if (!(ID_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`identifier "${key}": unknown kind "${kind}" (expected one of ${ID_KINDS.join(', ')})`);
  }
  if (!value) throw new Error(`identifier "${key}": empty value`);
  return { kind: kind as IdKind, value };
}

/** `kind:id`, the way every place is written in outputs (`venue:V000123`). */
export function placeKey(kind: PlaceKind, id: string): string {
  return `${kind}:${id}`;
}

export function isIdKind(s: string): s is IdKind {
  return (ID_KINDS as readonly string[]).includes(s);
}

export function isPlaceKind(s: string): s is PlaceKind {
  return (PLACE_KINDS as readonly string[]).includes(s);
}
