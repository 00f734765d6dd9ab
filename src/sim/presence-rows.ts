/**
 * @module Writes planned person-days as rows of the presence files, with the labelled
 * imperfections (malformed copies, exact duplicates, date-only rows). Identifiers and place ids are
 * encoded to bytes once; each kind of row has its own small method so the copy loops stay inlined.
 */
import path from 'node:path';
import { PRESENCE_COLUMNS } from '../domain/formats.ts';
import { CAT, SERVICES, type City } from './city.ts';
import type { Clock } from './clock.ts';
import { CsvSink, RowWriter } from './csv-sink.ts';
import { TELECOM_COLS, TELECOM_ROWS, telecomCellId } from './geo.ts';
import { BUS_SLOT, BUS_SLOTS, METRO_SLOT, METRO_SLOTS, SEG, type DayPlan } from './mobility.ts';
import { Rng } from './prng.ts';
import type { MalformedLabel, TruthMalformedRow } from './truth.ts';

/** The presence files, one per source, in the order they are listed. */
export const PRESENCE_SOURCES = ['household', 'telecom', 'venue', 'transit', 'manifest', 'hotel', 'checkpoint'] as const;
export type PresenceSource = (typeof PRESENCE_SOURCES)[number];

const FILE_OF_SEG: PresenceSource[] = ['household', 'telecom', 'venue', 'venue', 'venue', 'transit', 'transit', 'manifest', 'manifest', 'hotel', 'checkpoint'];
const FILE_INDEX_OF_SEG = FILE_OF_SEG.map((f) => PRESENCE_SOURCES.indexOf(f));

/** Probability of a rare imperfection per row. */
const MALFORMED_RATE = 0.001;
const DUPLICATE_RATE = 0.003;
const DATE_ONLY_RATE = 0.004;
const MALFORMED_LABELS: MalformedLabel[] = ['bad_date', 'empty_id', 'wrong_column_count', 'end_before_start', 'unknown_place_kind', 'unknown_id_kind'];
/** Longest telecom stay record, minutes: operators cut long stays into records of at most six hours. */
const TELECOM_MAX_STAY = 360;

const pad2 = (n: number): string => String(n).padStart(2, '0');
const hhmm = (min: number): string => pad2(Math.floor(min / 60)) + pad2(min % 60);
/** ASCII text as whole 32-bit words (zero-padded), for RowWriter.words. */
interface Packed {
  words: Uint32Array;
  len: number;
}

function pack(text: string): Packed {
  const bytes = new Uint8Array((text.length + 3) & ~3);
  for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
  return { words: new Uint32Array(bytes.buffer), len: text.length };
}

/** Fixed-width ASCII values packed one after another, `stride` words each. */
function packFixed(values: readonly string[], width: number): Uint32Array {
  const stride = (width + 3) >> 2;
  const bytes = new Uint8Array(values.length * stride * 4);
  values.forEach((v, i) => {
    for (let k = 0; k < v.length && k < width; k++) bytes[i * stride * 4 + k] = v.charCodeAt(k);
  });
  return new Uint32Array(bytes.buffer);
}

const B = {
  idCard: pack('id_card,'), phone: pack('phone,'), card: pack('card,'),
  household: pack(',household,'), householdTail: pack(',,,,household_registry'),
  cell: pack(',cell,'), cellTail: pack(',,,,telecom'),
  workplace: pack(',workplace,'), workplaceTail: pack(',,,,workplace_attendance'),
  school: pack(',school,'), schoolTail: pack(',,,,school_attendance'),
  venue: pack(',venue,'), hospital: pack(',hospital,'), venueTail: pack(',,,,,venue_qr'),
  metro: pack(',metro,'), bus: pack(',bus,'), transitTail: pack(',,,,transit'), busTail: pack(',,,,,transit'),
};

export class PresenceRows {
  /** One writer per presence source, in PRESENCE_SOURCES order. */
  readonly writers: RowWriter[];
  readonly paths = {} as Record<PresenceSource, string>;
  readonly checkpointScans: CsvSink;
  /** Presence rows written (imperfect copies not counted). */
  presences = 0;
  readonly malformed: TruthMalformedRow[] = [];
  readonly duplicates: Record<string, number> = {};
  readonly dateOnly: Record<string, number> = {};
  readonly metroRunIds: string[] = [];
  readonly busRunIds: string[] = [];
  readonly usedMetro: Uint8Array;
  readonly usedBus: Uint8Array;
  /** service * 1024 + day + 128 of every train and flight written. */
  readonly usedServiceDays = new Set<number>();
  /** Telecom cell ids written (and the city's cells), by cell index. */
  readonly cellIds = new Map<number, string>();

  private readonly noise: Rng;
  private readonly untilMalformed: number[];
  private readonly untilDuplicate: number[];
  /** Identifiers packed per person: ID cards 18 bytes (5 words), phones 11 (3), transit cards 16 (4). */
  private readonly idWords: Uint32Array;
  private readonly phoneWords: Uint32Array;
  private readonly cardWords: Uint32Array;
  /** Household ids, 9 bytes (3 words) each. */
  private readonly householdWords: Uint32Array;
  /** Telecom cell ids by cell index, 13 bytes (4 words) each, packed when first used. */
  private readonly cellWords = new Uint32Array(TELECOM_ROWS * TELECOM_COLS * 4);
  private readonly cellPacked = new Uint8Array(TELECOM_ROWS * TELECOM_COLS);
  private readonly venueIds: Packed[];
  private readonly venueIsHospital: Uint8Array;
  private readonly workplaceIds: Packed[];
  private readonly schoolIds: Packed[];
  private readonly metroIds: Packed[];
  private readonly busIds: Packed[];

  /**
   * @param isHot whether a transmission may happen at this (segment kind, place) today; such rows are
   *   never made date-only, so every transmission stays visible in full in the files.
   */
  constructor(
    private readonly city: City,
    private readonly clock: Clock,
    seed: number,
    out: (name: string) => string,
    private readonly isHot: (kind: number, place: number) => boolean,
  ) {
    for (let l = 0; l < city.metroLines; l++) for (let s = 0; s < METRO_SLOTS; s++) this.metroRunIds.push(`M${l + 1}-${hhmm(s * METRO_SLOT)}`);
    for (let l = 0; l < city.busLines; l++) for (let s = 0; s < BUS_SLOTS; s++) this.busRunIds.push(`B${String(l + 1).padStart(3, '0')}-${hhmm(s * BUS_SLOT)}`);
    this.usedMetro = new Uint8Array(this.metroRunIds.length);
    this.usedBus = new Uint8Array(this.busRunIds.length);
    for (const c of city.usedCells) this.cellIds.set(c, telecomCellId(c));
    this.idWords = packFixed(city.idCard, 18);
    this.phoneWords = packFixed(city.phone, 11);
    this.cardWords = packFixed(city.card, 16);
    this.householdWords = packFixed(city.householdId, 9);
    this.venueIds = city.venues.map((v) => pack(v.id));
    this.venueIsHospital = Uint8Array.from(city.venues, (v) => (v.category === CAT.hospital ? 1 : 0));
    this.workplaceIds = city.workplaces.map((w) => pack(w.id));
    this.schoolIds = city.schools.map((w) => pack(w.id));
    this.metroIds = this.metroRunIds.map(pack);
    this.busIds = this.busRunIds.map(pack);
    this.writers = PRESENCE_SOURCES.map((src) => {
      this.paths[src] = out(`presences-${src}.csv`);
      return new RowWriter(this.paths[src], PRESENCE_COLUMNS);
    });
    this.checkpointScans = new CsvSink(out('checkpoint-scans.csv'), ['id_kind', 'id_value', 'checkpoint_id', 'time', 'temperature']);
    // Imperfections are drawn from their own stream, in writing order.
    this.noise = new Rng(seed, 7, 0);
    this.untilMalformed = PRESENCE_SOURCES.map(() => this.geometric(MALFORMED_RATE));
    this.untilDuplicate = PRESENCE_SOURCES.map(() => this.geometric(DUPLICATE_RATE));
  }

  /** Rows until the next event of a per-row probability. */
  private geometric(rate: number): number {
    return Math.floor(Math.log(1 - this.noise.float()) / Math.log(1 - rate)) + 1;
  }

  /** The id of a train or flight on a day: number + departure date, `G1722-20200121`. */
  serviceDayId(service: number, day: number): string {
    return `${SERVICES[service].code}-${this.clock.compactDate(day)}`;
  }

  /** The id of a telecom grid cell. */
  cellId(c: number): string {
    let s = this.cellIds.get(c);
    if (s === undefined) {
      s = telecomCellId(c);
      this.cellIds.set(c, s);
    }
    return s;
  }

  /** Word offset of a cell's packed id (packing it on first use). */
  private cellWord(c: number): number {
    if (this.cellPacked[c] === 0) {
      const id = this.cellId(c);
      const bytes = new Uint8Array(this.cellWords.buffer, c * 16, 16);
      for (let k = 0; k < id.length && k < 16; k++) bytes[k] = id.charCodeAt(k);
      this.cellPacked[c] = 1;
    }
    return c * 4;
  }

  /** True when a writer has several chunks in flight and should be drained. */
  get busy(): boolean {
    for (const w of this.writers) if (w.busy) return true;
    return false;
  }

  async drain(): Promise<void> {
    for (const w of this.writers) if (w.busy) await w.drain();
  }

  async close(): Promise<void> {
    for (const w of this.writers) await w.close();
    this.checkpointScans.close();
  }

  /** Writes every segment of a planned person-day. */
  writePlan(p: number, plan: DayPlan): void {
    for (let i = 0; i < plan.n; i++) {
      const k = plan.kind[i];
      const place = plan.place[i];
      const s = plan.start[i];
      const e = plan.end[i];
      switch (k) {
        case SEG.household: this.household(p, place, s, e); break;
        case SEG.cell: this.cell(p, place, s, e); break;
        case SEG.workplace: this.timed(B.phone, this.phoneWords, p * 3, 11, B.workplace, this.workplaceIds[place], s, e, B.workplaceTail, FILE_INDEX_OF_SEG[k]); break;
        case SEG.school: this.timed(B.idCard, this.idWords, p * 5, 18, B.school, this.schoolIds[place], s, e, B.schoolTail, FILE_INDEX_OF_SEG[k]); break;
        case SEG.venue: this.point(B.phone, this.phoneWords, p * 3, 11, this.venueIsHospital[place] ? B.hospital : B.venue, this.venueIds[place], s, B.venueTail, FILE_INDEX_OF_SEG[k]); break;
        case SEG.metro:
          this.usedMetro[place] = 1;
          this.timed(B.card, this.cardWords, p * 4, 16, B.metro, this.metroIds[place], s, e, B.transitTail, FILE_INDEX_OF_SEG[k]);
          break;
        case SEG.bus:
          this.usedBus[place] = 1;
          this.point(B.card, this.cardWords, p * 4, 16, B.bus, this.busIds[place], s, B.busTail, FILE_INDEX_OF_SEG[k]);
          break;
        case SEG.train:
        case SEG.flight: this.vehicle(p, k, place, s, e, plan.sub[i]); break;
        case SEG.hotel: this.hotel(p, place, s, e, plan.sub[i]); break;
        case SEG.checkpoint: this.checkpoint(p, place, s, plan.aux[i]); break;
        default: break;
      }
    }
  }

  private household(p: number, place: number, s: number, e: number): void {
    const si = FILE_INDEX_OF_SEG[SEG.household];
    const w = this.writers[si];
    w.begin();
    w.words(B.idCard.words, 0, B.idCard.len);
    w.words(this.idWords, p * 5, 18);
    w.words(B.household.words, 0, B.household.len);
    w.words(this.householdWords, place * 3, 9);
    w.comma();
    if (this.noise.float() < DATE_ONLY_RATE && !this.isHot(SEG.household, place)) {
      // Some registry extracts carry only the date of the stay.
      this.clock.writeDate(w, s);
      w.comma();
      this.dateOnly['presences-household.csv'] = (this.dateOnly['presences-household.csv'] ?? 0) + 1;
    } else {
      this.clock.writeIso(w, s);
      w.comma();
      this.clock.writeIso(w, e);
    }
    w.words(B.householdTail.words, 0, B.householdTail.len);
    this.endRow(si);
  }

  private cell(p: number, place: number, s: number, e: number): void {
    const si = FILE_INDEX_OF_SEG[SEG.cell];
    const w = this.writers[si];
    const id = this.cellWord(place);
    for (let a = s; a < e; a += TELECOM_MAX_STAY) {
      w.begin();
      w.words(B.phone.words, 0, B.phone.len);
      w.words(this.phoneWords, p * 3, 11);
      w.words(B.cell.words, 0, B.cell.len);
      w.words(this.cellWords, id, 13);
      w.comma();
      this.clock.writeIso(w, a);
      w.comma();
      this.clock.writeIso(w, e - a > TELECOM_MAX_STAY ? a + TELECOM_MAX_STAY : e);
      w.words(B.cellTail.words, 0, B.cellTail.len);
      this.endRow(si);
    }
  }

  /** A row with start and end: `KIND,ID,PLACE_KIND,PLACE,START,END,,,,SOURCE`. */
  private timed(kind: Packed, ids: Uint32Array, idWord: number, idLen: number, placeKind: Packed, placeId: Packed, s: number, e: number, tail: Packed, si: number): void {
    const w = this.writers[si];
    w.begin();
    w.words(kind.words, 0, kind.len);
    w.words(ids, idWord, idLen);
    w.words(placeKind.words, 0, placeKind.len);
    w.words(placeId.words, 0, placeId.len);
    w.comma();
    this.clock.writeIso(w, s);
    w.comma();
    this.clock.writeIso(w, e);
    w.words(tail.words, 0, tail.len);
    this.endRow(si);
  }

  /** A point event: `KIND,ID,PLACE_KIND,PLACE,START,,,,,SOURCE`. */
  private point(kind: Packed, ids: Uint32Array, idWord: number, idLen: number, placeKind: Packed, placeId: Packed, s: number, tail: Packed, si: number): void {
    const w = this.writers[si];
    w.begin();
    w.words(kind.words, 0, kind.len);
    w.words(ids, idWord, idLen);
    w.words(placeKind.words, 0, placeKind.len);
    w.words(placeId.words, 0, placeId.len);
    w.comma();
    this.clock.writeIso(w, s);
    w.words(tail.words, 0, tail.len);
    this.endRow(si);
  }

  private vehicle(p: number, k: number, place: number, s: number, e: number, sub: string): void {
    const si = FILE_INDEX_OF_SEG[k];
    const w = this.writers[si];
    const day = Math.floor(s / 1440);
    this.usedServiceDays.add(place * 1024 + day + 128);
    w.begin();
    w.ascii('id_card,');
    w.ascii(this.city.idCard[p]);
    w.ascii(k === SEG.train ? ',train,' : ',flight,');
    w.ascii(this.serviceDayId(place, day));
    w.comma();
    this.clock.writeIso(w, s);
    w.comma();
    this.clock.writeIso(w, e);
    w.comma();
    w.ascii(sub);
    w.ascii(k === SEG.train ? ',,,rail_manifest' : ',,,air_manifest');
    this.endRow(si);
  }

  private hotel(p: number, place: number, s: number, e: number, room: string): void {
    const si = FILE_INDEX_OF_SEG[SEG.hotel];
    const w = this.writers[si];
    w.begin();
    w.ascii('id_card,');
    w.ascii(this.city.idCard[p]);
    w.ascii(',hotel,');
    w.ascii(this.city.hotels[place].id);
    w.comma();
    this.clock.writeIso(w, s);
    w.comma();
    this.clock.writeIso(w, e);
    w.comma();
    w.ascii(room);
    w.ascii(',,,hotel_registry');
    this.endRow(si);
  }

  private checkpoint(p: number, place: number, s: number, temperature10: number): void {
    const si = FILE_INDEX_OF_SEG[SEG.checkpoint];
    const w = this.writers[si];
    const usePlate = this.city.plate[p] !== '';
    const idKind = usePlate ? 'plate' : 'id_card';
    const idValue = usePlate ? this.city.plate[p] : this.city.idCard[p];
    const cp = this.city.checkpoints[place].id;
    w.begin();
    w.ascii(idKind);
    w.comma();
    w.utf8(idValue);
    w.ascii(',checkpoint,');
    w.ascii(cp);
    w.comma();
    this.clock.writeIso(w, s);
    w.ascii(',,,,,checkpoint');
    this.endRow(si);
    this.checkpointScans.line(`${idKind},${idValue},${cp},${this.clock.iso(s)},${(temperature10 / 10).toFixed(1)}`);
  }

  /** Ends the row just written, then now and then follows it with a malformed copy or an exact duplicate. */
  private endRow(si: number): void {
    const w = this.writers[si];
    w.end();
    this.presences++;
    if (--this.untilMalformed[si] === 0) {
      this.untilMalformed[si] = this.geometric(MALFORMED_RATE);
      const { text, label } = this.corrupt(w.lastRow(), this.noise.pick(MALFORMED_LABELS));
      this.malformed.push({ file: path.basename(w.path), line: w.lines + 1, label });
      w.line(text);
    } else if (--this.untilDuplicate[si] === 0) {
      this.untilDuplicate[si] = this.geometric(DUPLICATE_RATE);
      const name = path.basename(w.path);
      this.duplicates[name] = (this.duplicates[name] ?? 0) + 1;
      w.repeatLast();
    }
  }

  /** A malformed copy of a valid row, with the label of what is wrong with it. */
  private corrupt(row: string, wanted: MalformedLabel): { text: string; label: MalformedLabel } {
    const f = row.split(',');
    let label = wanted;
    if (label === 'end_before_start' && f[5] === '') label = 'bad_date';
    switch (label) {
      case 'bad_date':
        f[4] = '2020-13-45' + f[4].slice(10);
        break;
      case 'empty_id':
        f[1] = '';
        break;
      case 'wrong_column_count':
        if (this.noise.chance(0.5)) f.splice(6, 1);
        else f.push('extra');
        break;
      case 'end_before_start': {
        const t = f[4];
        f[4] = f[5];
        f[5] = t;
        break;
      }
      case 'unknown_place_kind':
        f[2] = 'ktv';
        break;
      case 'unknown_id_kind':
        f[0] = 'wechat';
        break;
      default: {
        const never: never = label;
        throw new Error(`unhandled label ${String(never)}`);
      }
    }
    return { text: f.join(','), label };
  }
}
