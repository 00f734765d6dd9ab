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
// Plain Uint8Arrays, not Buffers: one array shape keeps the copy loops monomorphic.
const enc = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

function fixedWidth(values: readonly string[], width: number): Uint8Array {
  const out = new Uint8Array(values.length * width);
  values.forEach((v, i) => {
    for (let k = 0; k < v.length && k < width; k++) out[i * width + k] = v.charCodeAt(k);
  });
  return out;
}

const B = {
  idCard: enc('id_card,'), phone: enc('phone,'), card: enc('card,'),
  household: enc(',household,'), householdTail: enc(',,,,household_registry'),
  cell: enc(',cell,'), cellTail: enc(',,,,telecom'),
  workplace: enc(',workplace,'), workplaceTail: enc(',,,,workplace_attendance'),
  school: enc(',school,'), schoolTail: enc(',,,,school_attendance'),
  venue: enc(',venue,'), hospital: enc(',hospital,'), venueTail: enc(',,,,,venue_qr'),
  metro: enc(',metro,'), bus: enc(',bus,'), transitTail: enc(',,,,transit'), busTail: enc(',,,,,transit'),
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
  private readonly idBytes: Uint8Array;
  private readonly phoneBytes: Uint8Array;
  private readonly cardBytes: Uint8Array;
  private readonly householdBytes: Uint8Array;
  /** Encoded cell ids by cell index: a dense array, since a Map lookup per telecom row shows in profiles. */
  private readonly cellBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(TELECOM_ROWS * TELECOM_COLS);
  private readonly venueBytes: Uint8Array[];
  private readonly venueIsHospital: Uint8Array;
  private readonly workplaceBytes: Uint8Array[];
  private readonly schoolBytes: Uint8Array[];
  private readonly metroBytes: Uint8Array[];
  private readonly busBytes: Uint8Array[];

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
    this.idBytes = fixedWidth(city.idCard, 18);
    this.phoneBytes = fixedWidth(city.phone, 11);
    this.cardBytes = fixedWidth(city.card, 16);
    this.householdBytes = fixedWidth(city.householdId, 9);
    this.venueBytes = city.venues.map((v) => enc(v.id));
    this.venueIsHospital = Uint8Array.from(city.venues, (v) => (v.category === CAT.hospital ? 1 : 0));
    this.workplaceBytes = city.workplaces.map((w) => enc(w.id));
    this.schoolBytes = city.schools.map((w) => enc(w.id));
    this.metroBytes = this.metroRunIds.map(enc);
    this.busBytes = this.busRunIds.map(enc);
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

  private cellIdBytes(c: number): Uint8Array {
    let b = this.cellBytes[c];
    if (b === undefined) {
      b = enc(this.cellId(c));
      this.cellBytes[c] = b;
    }
    return b;
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
        case SEG.workplace: this.timed(p, B.phone, this.phoneBytes, 11, B.workplace, this.workplaceBytes[place], s, e, B.workplaceTail, FILE_INDEX_OF_SEG[k]); break;
        case SEG.school: this.timed(p, B.idCard, this.idBytes, 18, B.school, this.schoolBytes[place], s, e, B.schoolTail, FILE_INDEX_OF_SEG[k]); break;
        case SEG.venue: this.point(p, B.phone, this.phoneBytes, 11, this.venueIsHospital[place] ? B.hospital : B.venue, this.venueBytes[place], s, B.venueTail, FILE_INDEX_OF_SEG[k]); break;
        case SEG.metro:
          this.usedMetro[place] = 1;
          this.timed(p, B.card, this.cardBytes, 16, B.metro, this.metroBytes[place], s, e, B.transitTail, FILE_INDEX_OF_SEG[k]);
          break;
        case SEG.bus:
          this.usedBus[place] = 1;
          this.point(p, B.card, this.cardBytes, 16, B.bus, this.busBytes[place], s, B.busTail, FILE_INDEX_OF_SEG[k]);
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
    w.raw(B.idCard);
    w.rawRange(this.idBytes, p * 18, 18);
    w.raw(B.household);
    w.rawRange(this.householdBytes, place * 9, 9);
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
    w.raw(B.householdTail);
    this.endRow(si);
  }

  private cell(p: number, place: number, s: number, e: number): void {
    const si = FILE_INDEX_OF_SEG[SEG.cell];
    const w = this.writers[si];
    const id = this.cellIdBytes(place);
    for (let a = s; a < e; a += TELECOM_MAX_STAY) {
      w.begin();
      w.raw(B.phone);
      w.rawRange(this.phoneBytes, p * 11, 11);
      w.raw(B.cell);
      w.raw(id);
      w.comma();
      this.clock.writeIso(w, a);
      w.comma();
      this.clock.writeIso(w, e - a > TELECOM_MAX_STAY ? a + TELECOM_MAX_STAY : e);
      w.raw(B.cellTail);
      this.endRow(si);
    }
  }

  /** A row with start and end: `KIND,ID,PLACE_KIND,PLACE,START,END,,,,SOURCE`. */
  private timed(p: number, kind: Uint8Array, ids: Uint8Array, width: number, placeKind: Uint8Array, placeId: Uint8Array, s: number, e: number, tail: Uint8Array, si: number): void {
    const w = this.writers[si];
    w.begin();
    w.raw(kind);
    w.rawRange(ids, p * width, width);
    w.raw(placeKind);
    w.raw(placeId);
    w.comma();
    this.clock.writeIso(w, s);
    w.comma();
    this.clock.writeIso(w, e);
    w.raw(tail);
    this.endRow(si);
  }

  /** A point event: `KIND,ID,PLACE_KIND,PLACE,START,,,,,SOURCE`. */
  private point(p: number, kind: Uint8Array, ids: Uint8Array, width: number, placeKind: Uint8Array, placeId: Uint8Array, s: number, tail: Uint8Array, si: number): void {
    const w = this.writers[si];
    w.begin();
    w.raw(kind);
    w.rawRange(ids, p * width, width);
    w.raw(placeKind);
    w.raw(placeId);
    w.comma();
    this.clock.writeIso(w, s);
    w.raw(tail);
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
