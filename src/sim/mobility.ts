/**
 * @module One person's day in the synthetic city: home, commute, work or school, venues, trips in
 * and out, and the telecom cells passed on the way. A day is a pure function of (seed, person, day)
 * and the outbreak state up to that day, so it can be recomputed at will (the outbreak needs the
 * days of infectious people before anyone else's day is written).
 */
import { CAT, COMMUTE, ROLE, type City, type Leg, type Trip } from './city.ts';
import { mix32, Rng } from './prng.ts';

/** Kinds of planned segment; each becomes one row of one presence file. */
export const SEG = {
  household: 0, cell: 1, workplace: 2, school: 3, venue: 4, metro: 5, bus: 6, train: 7, flight: 8, hotel: 9, checkpoint: 10,
} as const;

/** Segment kinds through which the outbreak spreads (telecom cells and transit never transmit here). */
export const TRANSMITS = [true, false, true, true, true, false, false, true, true, true, false];

/** Metro runs: one every 6 minutes on each line; bus runs: one every 10 minutes. */
export const METRO_SLOT = 6;
export const METRO_SLOTS = 1440 / METRO_SLOT;
export const BUS_SLOT = 10;
export const BUS_SLOTS = 1440 / BUS_SLOT;

export const NO_DAY = 32767;

/** The parts of the outbreak state a day depends on. */
export interface HealthState {
  onset: Int16Array;
  asymptomatic: Uint8Array;
  isolated: Int16Array;
}

const CAPACITY = 48;
const COARSE = 30;

/** A reusable buffer of the segments of one person-day. Times are minutes since local midnight of day 0. */
export class DayPlan {
  n = 0;
  readonly kind = new Uint8Array(CAPACITY);
  readonly place = new Int32Array(CAPACITY);
  readonly start = new Int32Array(CAPACITY);
  /** True end; point events (venue scans, bus swipes, checkpoints) are written without it. */
  readonly end = new Int32Array(CAPACITY);
  /** Checkpoint: temperature × 10; train/flight: unused. */
  readonly aux = new Int32Array(CAPACITY);
  readonly sub: string[] = new Array<string>(CAPACITY).fill('');

  add(kind: number, place: number, start: number, end: number, sub = '', aux = 0): void {
    if (this.n >= CAPACITY) return;
    const i = this.n++;
    this.kind[i] = kind;
    this.place[i] = place;
    this.start[i] = start;
    this.end[i] = end;
    this.sub[i] = sub;
    this.aux[i] = aux;
  }
}

export class Planner {
  private readonly rng = new Rng(0);
  private readonly venuesByCategory: number[][];
  readonly plan = new DayPlan();
  // Telecom state while planning.
  private cell = -1;
  private since = 0;
  private hasPhone = false;

  constructor(private readonly city: City, private readonly health: HealthState) {
    this.venuesByCategory = city.venuesByCategoryDistrict.map((byDistrict) => byDistrict.flat());
  }

  /** Moves the person's phone to a cell at time t, closing the stay in the previous cell. */
  private go(cell: number, t: number): void {
    if (cell === this.cell || cell < 0) return;
    this.closeCell(t);
    this.cell = cell;
    this.since = t;
  }

  /** Writes the current cell stay with coarse times (operators report stays in half-hour steps). */
  private closeCell(t: number): void {
    if (!this.hasPhone || this.cell < 0 || t <= this.since) return;
    const s = Math.floor(this.since / COARSE) * COARSE;
    let e = Math.ceil(t / COARSE) * COARSE;
    if (e <= s) e = s + COARSE;
    const plan = this.plan;
    const last = plan.n - 1;
    for (let i = last; i >= 0; i--) {
      if (plan.kind[i] !== SEG.cell) continue;
      if (plan.place[i] === this.cell && plan.end[i] >= s) {
        if (e > plan.end[i]) plan.end[i] = e;
        return;
      }
      break;
    }
    plan.add(SEG.cell, this.cell, s, e);
  }

  private venueFor(p: number, cat: number): number {
    const local = this.city.venuesByCategoryDistrict[cat][this.city.district[p]];
    const list = local.length > 0 ? local : this.venuesByCategory[cat];
    // Mostly a regular place of the person's; sometimes somewhere new.
    if (this.rng.chance(0.75)) return list[mix32(p * 8 + cat) % list.length];
    return list[this.rng.int(list.length)];
  }

  private visit(p: number, cat: number, start: number, duration: number): number {
    const v = this.venueFor(p, cat);
    this.go(this.city.venues[v].cell, start);
    // Only a phone can scan a venue's QR code; without one the visit leaves no record.
    if (this.hasPhone) this.plan.add(SEG.venue, v, start, start + duration);
    return start + duration;
  }

  private addLeg(p: number, leg: Leg): void {
    if (leg.mode === 'car') {
      const temp = this.temperature(p, leg.day);
      this.plan.add(SEG.checkpoint, leg.service, leg.start, leg.start, '', temp);
      return;
    }
    this.plan.add(leg.mode === 'train' ? SEG.train : SEG.flight, leg.service, leg.start, leg.end, leg.sub);
  }

  private temperature(p: number, day: number): number {
    const onset = this.health.onset[p];
    const fever = onset !== NO_DAY && this.health.asymptomatic[p] === 0 && day >= onset - 1;
    return fever ? 374 + this.rng.int(12) : 360 + this.rng.int(10);
  }

  /** Plans person p's day d into `this.plan`. */
  planDay(p: number, d: number, seed: number): DayPlan {
    const city = this.city;
    const plan = this.plan;
    const rng = this.rng;
    plan.n = 0;
    if (d >= this.health.isolated[p]) return plan;
    const base = d * 1440;
    let from = base;
    let to = base + 1440;
    let arrive: Leg | undefined;
    let depart: Leg | undefined;
    const tripIndex = city.trip[p];
    if (tripIndex >= 0) {
      const trip: Trip = city.trips[tripIndex];
      const a = trip.arrive;
      const dp = trip.depart;
      if (trip.kind === 'return') {
        if (a!.day > d) return plan;
        if (a!.day === d) arrive = a;
      } else if (trip.kind === 'out_and_back') {
        if (dp!.day === d) depart = dp;
        else if (d > dp!.day && d < a!.day) return plan;
        else if (a!.day === d) arrive = a;
      } else {
        if (d < a!.day || d > dp!.day) return plan;
        if (a!.day === d) arrive = a;
        if (dp!.day === d) depart = dp;
      }
    }
    rng.reseed(seed, p, d + 1000);
    this.hasPhone = city.phone[p] !== '';
    this.cell = -1;
    const visitor = city.role[p] === ROLE.visitor;
    const home = city.homeCell[p];
    if (arrive) {
      this.addLeg(p, arrive);
      from = arrive.end + 30 + rng.int(30);
    }
    if (depart) to = depart.start - 40 - rng.int(30);
    this.go(home, from);
    let t = from;
    const fullDay = !arrive && !depart;
    const weekday = ((d % 7) + 7) % 7;
    const weekend = this.weekendDays[weekday];
    const role = city.role[p];
    const age = city.age[p];
    const onset = this.health.onset[p];
    if (fullDay && onset !== NO_DAY && this.health.asymptomatic[p] === 0 && d === onset + 1) {
      // A symptomatic case goes to a fever clinic the day after onset, then is isolated.
      t = this.visit(p, CAT.hospital, base + 8 * 60 + 30 + rng.int(90), 60 + rng.int(120));
      this.go(home, t + 20);
    } else if (fullDay && role !== ROLE.child) {
      t = this.routine(p, base, weekend, role, age, home);
    } else if (!fullDay && visitor && arrive && arrive.end < base + 17 * 60 && rng.chance(0.6)) {
      t = this.visit(p, CAT.restaurant, Math.max(t + 20, base + 18 * 60) + rng.int(60), 60 + rng.int(60));
      this.go(home, t + 15);
    }
    if (city.plate[p] !== '' && fullDay && rng.chance(0.03)) {
      const cp = rng.int(city.checkpoints.length);
      plan.add(SEG.checkpoint, cp, base + 9 * 60 + rng.int(8 * 60), 0, '', this.temperature(p, d));
    }
    if (depart) {
      this.closeCell(Math.max(t, to));
      this.cell = -1;
      this.addLeg(p, depart);
      return plan;
    }
    // The night: at home (household registry) or in the hotel room (hotel registry).
    const nightStart = Math.max(t + 10, base + 18 * 60 + rng.int(150));
    const nightEnd = base + 1440 + 6 * 60 + 30 + rng.int(100);
    this.go(home, Math.min(nightStart, base + 1439));
    this.closeCell(base + 1440);
    if (visitor) plan.add(SEG.hotel, city.trips[tripIndex].hotel, nightStart, nightEnd, city.trips[tripIndex].room);
    else plan.add(SEG.household, city.household[p], nightStart, nightEnd);
    return plan;
  }

  /** Which day indexes (mod 7) fall on a weekend; set from the calendar by the generator. */
  weekendDays: boolean[] = [false, false, false, false, false, true, true];

  /** A full day in the city; returns the time the person is back home. */
  private routine(p: number, base: number, weekend: boolean, role: number, age: number, home: number): number {
    const city = this.city;
    const plan = this.plan;
    const rng = this.rng;
    let t = base + 6 * 60;
    const goesOut = (role === ROLE.worker && (!weekend || rng.chance(0.12))) || (role === ROLE.student && !weekend);
    if (role === ROLE.retiree || role === ROLE.other || (weekend && role !== ROLE.visitor && rng.chance(0.4))) {
      if (rng.chance(role === ROLE.retiree ? 0.45 : 0.2)) {
        t = this.visit(p, CAT.market, base + 6 * 60 + 30 + rng.int(150), 20 + rng.int(40));
        this.go(home, t + 10);
      }
    }
    if (goesOut && rng.chance(0.96)) {
      const leave = Math.max(t + 10, base + city.leaveMin[p] + rng.range(-15, 15));
      const trip = city.commuteMin[p];
      const arrive = leave + trip;
      this.commute(p, leave, trip);
      const endWork = Math.max(arrive + 120, base + city.workEnd[p] + rng.range(-20, 30));
      this.go(city.destCell[p], arrive);
      plan.add(role === ROLE.student ? SEG.school : SEG.workplace, city.dest[p], arrive, endWork);
      t = endWork;
      if (role === ROLE.worker && rng.chance(0.22)) {
        const roll = rng.float();
        const cat = roll < 0.6 ? CAT.restaurant : roll < 0.75 && age < 45 ? CAT.bar : CAT.market;
        t = this.visit(p, cat, t + 10 + rng.int(30), 40 + rng.int(80));
      }
      this.commute(p, t + 5, trip);
      t = t + 5 + trip;
      this.go(home, t);
    } else if (role === ROLE.visitor) {
      t = this.visit(p, CAT.restaurant, base + 11 * 60 + 30 + rng.int(60), 50 + rng.int(50));
      if (rng.chance(0.3)) t = this.visit(p, CAT.market, t + 30 + rng.int(120), 20 + rng.int(40));
      if (rng.chance(0.6)) t = this.visit(p, CAT.restaurant, Math.max(t + 30, base + 17 * 60 + 30 + rng.int(90)), 50 + rng.int(60));
      this.go(home, t + 20);
    } else {
      // At home or around: the elderly at card rooms and association rooms, shopping, eating out.
      const afternoon = base + 13 * 60 + rng.int(90);
      if (role === ROLE.retiree && rng.chance(0.17)) {
        t = this.visit(p, CAT.card_room, Math.max(t + 20, afternoon), 120 + rng.int(150));
        this.go(home, t + 10);
      } else if (role === ROLE.retiree && rng.chance(0.22)) {
        t = this.visit(p, CAT.elderly_center, Math.max(t + 20, afternoon - 60), 90 + rng.int(120));
        this.go(home, t + 10);
      }
      if (age >= 12 && rng.chance(0.04)) {
        t = this.visit(p, CAT.pharmacy, Math.max(t + 20, base + 9 * 60 + rng.int(8 * 60)), 10 + rng.int(15));
        this.go(home, t + 10);
      }
      if (age >= 12 && rng.chance(0.012)) {
        t = this.visit(p, CAT.hospital, Math.max(t + 20, base + 8 * 60 + rng.int(6 * 60)), 60 + rng.int(150));
        this.go(home, t + 15);
      }
    }
    if (age >= 12 && rng.chance(weekend ? 0.3 : 0.08)) {
      t = this.visit(p, CAT.restaurant, Math.max(t + 20, base + 17 * 60 + 30 + rng.int(90)), 50 + rng.int(70));
      this.go(home, t + 15);
    }
    if (age >= 18 && age < 40 && rng.chance(weekend ? 0.12 : 0.03)) {
      t = this.visit(p, CAT.bar, Math.max(t + 30, base + 21 * 60 + rng.int(90)), 60 + rng.int(120));
      this.go(home, t + 20);
    }
    return t;
  }

  private commute(p: number, leave: number, trip: number): void {
    const city = this.city;
    const mode = city.commute[p];
    const mid = city.midCell[p];
    if (mid >= 0) this.go(mid, leave + 2);
    if (mode === COMMUTE.metro) {
      const tapIn = leave + 5;
      const ride = Math.max(8, trip - 12);
      const slot = Math.floor((tapIn % 1440) / METRO_SLOT);
      this.plan.add(SEG.metro, city.line[p] * METRO_SLOTS + slot, tapIn, tapIn + ride);
    } else if (mode === COMMUTE.bus) {
      const tap = leave + 4;
      const slot = Math.floor((tap % 1440) / BUS_SLOT);
      this.plan.add(SEG.bus, city.line[p] * BUS_SLOTS + slot, tap, tap + Math.max(10, trip - 8));
    }
  }
}

/** Row and carriage of a seat `CC-RR-S` (train) or `RR-S` (flight). */
export function seatRow(sub: string): { carriage: number; row: number } {
  const parts = sub.split('-');
  if (parts.length === 3) return { carriage: Number(parts[0]), row: Number(parts[1]) };
  return { carriage: 0, row: Number(parts[0]) };
}

