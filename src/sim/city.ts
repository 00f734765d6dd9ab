/**
 * @module The static synthetic city: jurisdictions, households and people with identifiers and
 * routines, workplaces, schools, venues, hotels, transit lines, long-distance services and the
 * trips in and out of the city. Everything here is sized by the population, never by the output.
 */
import { buildCheckpoints, buildGeography, randomPointIn, telecomCell, TELECOM_COLS, type CityGeography } from './geo.ts';
import { idCardNumber, phoneNumber, plateNumber, transitCardNumber } from './identifiers.ts';
import { DISTRICTS, GIVEN_CHARS, HIGH_RISK_CITY, ORIGINS, STREET_NAMES, SURNAMES } from './names.ts';
import { cumulative, mix32, Rng } from './prng.ts';

export const ROLE = { child: 0, student: 1, worker: 2, retiree: 3, other: 4, visitor: 5 } as const;

/** Commute modes. */
export const COMMUTE = { none: 0, car: 1, metro: 2, bus: 3 } as const;

export const VENUE_CATEGORIES = ['restaurant', 'market', 'pharmacy', 'card_room', 'elderly_center', 'bar', 'hospital'] as const;
export type VenueCategory = (typeof VENUE_CATEGORIES)[number];
export const CAT = { restaurant: 0, market: 1, pharmacy: 2, card_room: 3, elderly_center: 4, bar: 5, hospital: 6 } as const;
/** People per venue of each category. */
const PEOPLE_PER_VENUE = [110, 1500, 2000, 900, 1400, 2500, 15000];
const VENUE_LABEL = ['餐馆', '菜市场', '药店', '棋牌室', '老年协会活动室', '酒吧', '医院'];

/** A scheduled long-distance service (train or flight) that runs every day. */
export interface Service {
  code: string;
  mode: 'train' | 'flight';
  /** The other end of the trip (Chinese city name). */
  city: string;
  inbound: boolean;
  /** Minutes after local midnight when it leaves (outbound) or arrives (inbound) in the city. */
  time: number;
  duration: number;
}

export const SERVICES: readonly Service[] = [
  { code: 'G1722', mode: 'train', city: '武汉', inbound: true, time: 13 * 60 + 36, duration: 330 },
  { code: 'D3082', mode: 'train', city: '武汉', inbound: true, time: 19 * 60 + 10, duration: 420 },
  { code: 'MU5502', mode: 'flight', city: '武汉', inbound: true, time: 11 * 60 + 20, duration: 110 },
  { code: 'CZ3867', mode: 'flight', city: '武汉', inbound: true, time: 21 * 60 + 5, duration: 115 },
  { code: 'G1721', mode: 'train', city: '武汉', inbound: false, time: 8 * 60 + 10, duration: 330 },
  { code: 'MU5501', mode: 'flight', city: '武汉', inbound: false, time: 8 * 60 + 30, duration: 110 },
  { code: 'G7502', mode: 'train', city: '上海', inbound: true, time: 10 * 60 + 45, duration: 130 },
  { code: 'G7501', mode: 'train', city: '上海', inbound: false, time: 9 * 60 + 5, duration: 130 },
  { code: 'G7611', mode: 'train', city: '杭州', inbound: true, time: 18 * 60 + 20, duration: 55 },
  { code: 'G7610', mode: 'train', city: '杭州', inbound: false, time: 7 * 60 + 40, duration: 55 },
  { code: 'G56', mode: 'train', city: '北京', inbound: true, time: 20 * 60 + 30, duration: 400 },
  { code: 'G55', mode: 'train', city: '北京', inbound: false, time: 7 * 60 + 20, duration: 400 },
  { code: 'D3136', mode: 'train', city: '南京', inbound: true, time: 16 * 60 + 2, duration: 190 },
  { code: 'D3135', mode: 'train', city: '南京', inbound: false, time: 12 * 60 + 15, duration: 190 },
  { code: 'CZ3571', mode: 'flight', city: '广州', inbound: true, time: 15 * 60 + 40, duration: 140 },
  { code: 'CZ3572', mode: 'flight', city: '广州', inbound: false, time: 17 * 60 + 30, duration: 140 },
  { code: 'G7680', mode: 'train', city: '合肥', inbound: true, time: 14 * 60 + 50, duration: 200 },
  { code: 'G7679', mode: 'train', city: '合肥', inbound: false, time: 10 * 60 + 20, duration: 200 },
];

/** One leg of a trip: a seat on a service on a day, or a car through a checkpoint. */
export interface Leg {
  day: number;
  mode: 'train' | 'flight' | 'car';
  /** Index into SERVICES, or a checkpoint index for a car. */
  service: number;
  /** Seat (`07-12-F`, `12-C`) for trains and flights. */
  sub: string;
  /** Minutes since local midnight of day 0. */
  start: number;
  end: number;
}

/**
 * A trip: a resident going away and coming back (`out_and_back`), a resident away when the window
 * opens who comes home (`return`), or a visitor staying in a hotel (`visit`).
 */
export interface Trip {
  kind: 'out_and_back' | 'return' | 'visit';
  depart?: Leg;
  arrive?: Leg;
  /** The other city. */
  city: string;
  hotel: number;
  room: string;
}

export interface Venue {
  id: string;
  category: number;
  name: string;
  lon: number;
  lat: number;
  community: number;
  cell: number;
}

export interface Site {
  id: string;
  name: string;
  lon: number;
  lat: number;
  community: number;
  cell: number;
  /** People assigned (workplaces and schools). */
  size: number;
}

export interface City {
  seed: number;
  geo: CityGeography;
  residents: number;
  /** Residents plus visitors. */
  people: number;
  // per person
  idCard: string[];
  phone: string[];
  card: string[];
  plate: string[];
  name: string[];
  age: Uint8Array;
  male: Uint8Array;
  role: Uint8Array;
  household: Int32Array;
  district: Uint8Array;
  homeCell: Int32Array;
  dest: Int32Array;
  destCell: Int32Array;
  midCell: Int32Array;
  commute: Uint8Array;
  line: Int32Array;
  commuteMin: Uint16Array;
  leaveMin: Uint16Array;
  workEnd: Uint16Array;
  trip: Int32Array;
  // households
  householdId: string[];
  householdCommunity: Int32Array;
  householdLon: Float64Array;
  householdLat: Float64Array;
  householdAddress: string[];
  householdStart: Int32Array;
  householdSize: Uint8Array;
  // places
  /** Departments of workplaces (the unit of close contact at work). */
  workplaces: Site[];
  /** Classes of schools (the unit of close contact at school). */
  schools: Site[];
  venues: Venue[];
  /** Venue indices by category and district. */
  venuesByCategoryDistrict: number[][][];
  hotels: Site[];
  metroLines: number;
  busLines: number;
  checkpoints: Array<{ id: string; name: string; lon: number; lat: number; cell: number }>;
  trips: Trip[];
  /** Cells the city uses (for places.csv). */
  usedCells: Set<number>;
}

const HOUSEHOLD_SIZES = cumulative([0.25, 0.3, 0.21, 0.13, 0.07, 0.04]);

function randomName(rng: Rng): string {
  const s = rng.pick(SURNAMES);
  return rng.chance(0.6) ? s + rng.pick(GIVEN_CHARS) + rng.pick(GIVEN_CHARS) : s + rng.pick(GIVEN_CHARS);
}

/** Birth date for an age in years on the reference date (the first day of the window). */
function birthFor(age: number, refYear: number, rng: Rng): { y: number; m: number; d: number } {
  const m = rng.range(1, 12);
  const d = rng.range(1, 28);
  return { y: refYear - age - (m > 1 ? 1 : 0), m, d };
}

/** Builds the whole static city for a seed and population. */
export function buildCity(seed: number, residents: number, days: number, refYear: number): City {
  const rng = new Rng(seed, 1, 0);
  const perPrecinct = Math.max(2, Math.min(12, Math.round(residents / 56 / 500)));
  const geo = buildGeography(rng, perPrecinct);
  const usedCells = new Set<number>();

  // Communities weighted by their district's population, equal within a district.
  const perDistrict = DISTRICTS.map((_, di) => geo.communities.filter((c) => c.district === di).length);
  const communityWeights = cumulative(geo.communities.map((c) => DISTRICTS[c.district].weight / perDistrict[c.district]));
  const place = (community: number): { lon: number; lat: number; cell: number } => {
    const [lon, lat] = randomPointIn(geo.communities[community], rng);
    const cell = telecomCell(lon, lat);
    usedCells.add(cell);
    return { lon, lat, cell };
  };

  // Visitors: about 2% of residents, in groups of one to three.
  const visitorsTarget = Math.max(3, Math.round(residents * 0.02));
  const people = residents + visitorsTarget;
  const idCard: string[] = new Array(people);
  const phone: string[] = new Array(people).fill('');
  const card: string[] = new Array(people).fill('');
  const plate: string[] = new Array(people).fill('');
  const name: string[] = new Array(people);
  const age = new Uint8Array(people);
  const male = new Uint8Array(people);
  const role = new Uint8Array(people);
  const household = new Int32Array(people).fill(-1);
  const district = new Uint8Array(people);
  const homeCell = new Int32Array(people).fill(-1);
  const dest = new Int32Array(people).fill(-1);
  const destCell = new Int32Array(people).fill(-1);
  const midCell = new Int32Array(people).fill(-1);
  const commute = new Uint8Array(people);
  const line = new Int32Array(people);
  const commuteMin = new Uint16Array(people);
  const leaveMin = new Uint16Array(people);
  const workEnd = new Uint16Array(people);
  const trip = new Int32Array(people).fill(-1);
  const serials = new Map<number, number>();
  const issue = (p: number, region: string): void => {
    const b = birthFor(age[p], refYear, rng);
    const key = (((Number(region) * 300 + (b.y - 1800)) * 13 + b.m) * 32 + b.d) * 2 + male[p];
    const serial = serials.get(key) ?? 0;
    serials.set(key, serial + 1);
    idCard[p] = idCardNumber(region, b, male[p] === 1, serial);
  };

  // Households and residents.
  const householdId: string[] = [];
  const hhCommunity: number[] = [];
  const hhLon: number[] = [];
  const hhLat: number[] = [];
  const hhAddress: string[] = [];
  const hhStart: number[] = [];
  const hhSize: number[] = [];
  let p = 0;
  while (p < residents) {
    const size = Math.min(residents - p, rng.weighted(HOUSEHOLD_SIZES) + 1);
    const h = householdId.length;
    const community = rng.weighted(communityWeights);
    const pos = place(community);
    const c = geo.communities[community];
    const d = DISTRICTS[c.district];
    householdId.push(`HH${String(h + 1).padStart(7, '0')}`);
    hhCommunity.push(community);
    hhLon.push(pos.lon);
    hhLat.push(pos.lat);
    hhAddress.push(`浙江省宁波市${d.name}${d.suffix}${c.name}${rng.pick(STREET_NAMES)}${rng.range(1, 999)}号${rng.range(1, 30)}幢${rng.range(1, 6)}0${rng.range(1, 4)}室`);
    hhStart.push(p);
    hhSize.push(size);
    const surname = rng.pick(SURNAMES);
    // Ages by household shape: single, couple, couple with children, three generations.
    const parentAge = size === 1 ? rng.range(20, 88) : size === 2 && rng.chance(0.5) ? rng.range(55, 85) : rng.range(26, 52);
    for (let k = 0; k < size; k++) {
      const i = p + k;
      let a: number;
      if (k === 0) a = parentAge;
      else if (k === 1) a = Math.max(20, parentAge + rng.range(-4, 4));
      else if (k === 2 || k === 3) a = size >= 5 && k === 3 ? Math.min(95, parentAge + rng.range(24, 32)) : Math.max(0, parentAge - rng.range(24, 34));
      else a = Math.min(95, parentAge + rng.range(24, 34));
      age[i] = a;
      male[i] = k === 0 ? (rng.chance(0.5) ? 1 : 0) : k === 1 ? 1 - male[p] : rng.chance(0.51) ? 1 : 0;
      name[i] = k === 0 || (k >= 2 && k < 4) ? surname + randomName(rng).slice(1) : randomName(rng);
      household[i] = h;
      district[i] = c.district;
      homeCell[i] = pos.cell;
      issue(i, d.code);
      role[i] = a < 6 ? ROLE.child : a < 18 ? ROLE.student : a < 23 ? (rng.chance(0.5) ? ROLE.student : ROLE.worker)
        : a < 60 ? (rng.chance(0.82) ? ROLE.worker : ROLE.other) : a < 65 && rng.chance(0.15) ? ROLE.worker : ROLE.retiree;
      if (a >= 12) phone[i] = phoneNumber(i, mix32(seed) % 100000000);
    }
    p += size;
  }

  // Workplaces, schools and venues, scattered over communities by population.
  const nWorkers = role.reduce((s, r) => s + (r === ROLE.worker ? 1 : 0), 0);
  const nStudents = role.reduce((s, r) => s + (r === ROLE.student ? 1 : 0), 0);
  const site = (prefix: string, i: number, label: string): Site => {
    const community = rng.weighted(communityWeights);
    const pos = place(community);
    return { id: `${prefix}${String(i + 1).padStart(6, '0')}`, name: `${geo.communities[community].name.replace('社区', '')}${label}${i + 1}`, lon: pos.lon, lat: pos.lat, community, cell: pos.cell, size: 0 };
  };
  const workplaces: Site[] = [];
  for (let i = 0; i < Math.max(3, Math.round(nWorkers / 30)); i++) workplaces.push(site('W', i, rng.chance(0.4) ? '工厂' : '公司'));
  const schools: Site[] = [];
  for (let i = 0; i < Math.max(2, Math.round(nStudents / 400)); i++) schools.push(site('S', i, i % 3 === 0 ? '中学' : '小学'));
  const hotels: Site[] = [];
  for (let i = 0; i < Math.max(3, Math.round(residents / 3000)); i++) hotels.push(site('HT', i, '宾馆'));
  const venues: Venue[] = [];
  const venuesByCategoryDistrict: number[][][] = VENUE_CATEGORIES.map(() => DISTRICTS.map(() => []));
  VENUE_CATEGORIES.forEach((_, cat) => {
    const n = Math.max(cat === CAT.hospital ? 2 : 1, Math.round(residents / PEOPLE_PER_VENUE[cat]));
    for (let i = 0; i < n; i++) {
      const community = rng.weighted(communityWeights);
      const pos = place(community);
      const v = venues.length;
      const prefix = cat === CAT.hospital ? 'HOS' : 'V';
      venues.push({ id: `${prefix}${String(v + 1).padStart(6, '0')}`, category: cat, name: `${geo.communities[community].name.replace('社区', '')}${VENUE_LABEL[cat]}${i + 1}号`, lon: pos.lon, lat: pos.lat, community, cell: pos.cell });
      venuesByCategoryDistrict[cat][geo.communities[community].district].push(v);
    }
  });
  const sitesByDistrict = (sites: Site[]): number[][] => {
    const out: number[][] = DISTRICTS.map(() => []);
    sites.forEach((s, i) => out[geo.communities[s.community].district].push(i));
    return out;
  };
  const workByDistrict = sitesByDistrict(workplaces);
  const workWeights = workplaces.map(() => rng.lognormal(1, 1));
  const workCum = cumulative(workWeights);
  const schoolByDistrict = sitesByDistrict(schools);

  const metroLines = 5;
  const busLines = Math.max(5, Math.round(residents / 800));
  for (let i = 0; i < residents; i++) {
    if (role[i] === ROLE.worker) {
      const local = workByDistrict[district[i]];
      let w: number;
      if (local.length > 0 && rng.chance(0.7)) {
        // Within the district, bigger workplaces draw more people.
        let best = local[rng.int(local.length)];
        const other = local[rng.int(local.length)];
        if (workWeights[other] > workWeights[best]) best = other;
        w = best;
      } else w = rng.weighted(workCum);
      dest[i] = w;
      destCell[i] = workplaces[w].cell;
      workplaces[w].size++;
      leaveMin[i] = rng.range(6 * 60 + 30, 8 * 60 + 45);
      workEnd[i] = rng.range(16 * 60 + 45, 18 * 60 + 45);
    } else if (role[i] === ROLE.student) {
      const local = schoolByDistrict[district[i]];
      const s = local.length > 0 ? local[rng.int(local.length)] : rng.int(schools.length);
      dest[i] = s;
      destCell[i] = schools[s].cell;
      schools[s].size++;
      leaveMin[i] = rng.range(7 * 60, 7 * 60 + 30);
      workEnd[i] = rng.range(16 * 60, 17 * 60 + 15);
    }
    if (dest[i] >= 0) {
      const hr = Math.floor(homeCell[i] / TELECOM_COLS);
      const hc = homeCell[i] % TELECOM_COLS;
      const dr = Math.floor(destCell[i] / TELECOM_COLS);
      const dc = destCell[i] % TELECOM_COLS;
      const distance = Math.abs(hr - dr) + Math.abs(hc - dc);
      commuteMin[i] = Math.min(90, 10 + Math.round(distance * 0.8) + rng.range(0, 10));
      // The middle of the commute, for the telecom cell passed on the way.
      const mid = Math.round((hr + dr) / 2) * TELECOM_COLS + Math.round((hc + dc) / 2);
      midCell[i] = mid === homeCell[i] || mid === destCell[i] ? -1 : mid;
      const metroArea = DISTRICTS[district[i]].metro;
      const roll = rng.float();
      if (metroArea && roll < 0.35 && commuteMin[i] >= 20) {
        commute[i] = COMMUTE.metro;
        line[i] = mix32(district[i] * 31 + rng.int(3)) % metroLines;
      } else if (roll < 0.6) {
        commute[i] = COMMUTE.bus;
        line[i] = mix32(i ^ seed) % busLines;
      } else if (roll < 0.85 && role[i] === ROLE.worker) {
        commute[i] = COMMUTE.car;
      }
      if (midCell[i] >= 0) usedCells.add(midCell[i]);
    }
    if (commute[i] === COMMUTE.metro || commute[i] === COMMUTE.bus || (age[i] >= 12 && rng.chance(0.15))) card[i] = transitCardNumber(i, mix32(seed ^ 0xca4d) % 1000000000000);
    if (commute[i] === COMMUTE.car || (age[i] >= 25 && age[i] < 70 && rng.chance(0.08))) plate[i] = plateNumber(i, mix32(seed ^ 0x91a7));
  }

  // Close contacts at work and at school are the people of the same office or class, not the whole
  // site: workplaces are split into departments of about 25, schools into classes of about 45 by grade.
  // Each unit is a place of its own (same coordinates), `W000123-D02`, `S000045-0302`.
  const workUnits: Site[] = [];
  const workUnitBase = new Int32Array(workplaces.length);
  workplaces.forEach((w, wi) => {
    workUnitBase[wi] = workUnits.length;
    const n = Math.max(1, Math.ceil(w.size / 25));
    for (let k = 0; k < n; k++) {
      workUnits.push({ ...w, id: `${w.id}-D${String(k + 1).padStart(2, '0')}`, name: `${w.name} 第${k + 1}部门`, size: 0 });
    }
  });
  const gradeOf = (i: number): number => Math.min(16, Math.max(1, age[i] - 5));
  const perSchoolGrade = new Map<number, number>();
  for (let i = 0; i < residents; i++) {
    if (role[i] !== ROLE.student) continue;
    const key = dest[i] * 32 + gradeOf(i);
    perSchoolGrade.set(key, (perSchoolGrade.get(key) ?? 0) + 1);
  }
  const classUnits: Site[] = [];
  const classBase = new Map<number, number>();
  for (const key of [...perSchoolGrade.keys()].sort((a, b) => a - b)) {
    const school = schools[Math.floor(key / 32)];
    const grade = key % 32;
    classBase.set(key, classUnits.length);
    const n = Math.max(1, Math.ceil(perSchoolGrade.get(key)! / 45));
    for (let k = 0; k < n; k++) {
      classUnits.push({ ...school, id: `${school.id}-${String(grade).padStart(2, '0')}${String(k + 1).padStart(2, '0')}`, name: `${school.name} ${grade}年级${k + 1}班`, size: 0 });
    }
  }
  for (let i = 0; i < residents; i++) {
    if (role[i] === ROLE.worker) {
      const w = dest[i];
      const n = Math.max(1, Math.ceil(workplaces[w].size / 25));
      dest[i] = workUnitBase[w] + (mix32(i ^ seed) % n);
      workUnits[dest[i]].size++;
    } else if (role[i] === ROLE.student) {
      const key = dest[i] * 32 + gradeOf(i);
      const n = Math.max(1, Math.ceil(perSchoolGrade.get(key)! / 45));
      dest[i] = classBase.get(key)! + (mix32(i ^ seed) % n);
      classUnits[dest[i]].size++;
    }
  }

  // Trips. Seats are handed out per service and day in order, so people travelling together sit together.
  const seatCounter = new Map<number, number>();
  const seat = (service: number, day: number): string => {
    const key = service * 4096 + day + 64;
    const k = seatCounter.get(key) ?? 0;
    seatCounter.set(key, k + 1);
    if (SERVICES[service].mode === 'train') {
      const carriage = 1 + (Math.floor(k / 36) % 16);
      const pos = k % 36;
      return `${String(carriage).padStart(2, '0')}-${String(1 + Math.floor(pos / 2)).padStart(2, '0')}-${pos % 2 === 0 ? 'A' : 'C'}`;
    }
    const row = 1 + (Math.floor(k / 3) % 40);
    return `${String(row).padStart(2, '0')}-${'ACF'[k % 3]}`;
  };
  const checkpoints = buildCheckpoints().map((c, i) => ({ id: `CP${String(i + 1).padStart(2, '0')}`, name: c.name, lon: c.lon, lat: c.lat, cell: telecomCell(c.lon, c.lat) }));
  const servicesTo = (city: string, inbound: boolean): number[] => SERVICES.flatMap((s, i) => (s.city === city && s.inbound === inbound ? [i] : []));
  const otherCities = [...new Set(SERVICES.map((s) => s.city))].filter((c) => c !== HIGH_RISK_CITY);
  const leg = (city: string, inbound: boolean, day: number, allowCar: boolean): Leg => {
    const options = servicesTo(city, inbound);
    if (options.length === 0 || (allowCar && rng.chance(0.2))) {
      const cp = rng.int(checkpoints.length);
      const t = day * 1440 + rng.range(9 * 60, 20 * 60);
      return { day, mode: 'car', service: cp, sub: '', start: t, end: t };
    }
    const s = options[rng.int(options.length)];
    const svc = SERVICES[s];
    const base = day * 1440;
    const start = inbound ? base + svc.time - svc.duration : base + svc.time;
    return { day, mode: svc.mode, service: s, sub: seat(s, day), start, end: start + svc.duration };
  };
  const trips: Trip[] = [];
  const wuhanDays = Math.min(days, 4);
  // Families coming home together from the high-risk region early in the window (about 0.4% of
  // residents), seated side by side.
  for (let h = 0; h < householdId.length; h++) {
    if (!rng.chance(0.0016)) continue;
    const day = rng.int(wuhanDays);
    const first = leg(HIGH_RISK_CITY, true, day, false);
    for (let k = 0; k < hhSize[h]; k++) {
      const i = hhStart[h] + k;
      trip[i] = trips.length;
      const own = k === 0 ? first : { ...first, sub: seat(first.service, day) };
      trips.push({ kind: 'return', arrive: own, city: HIGH_RISK_CITY, hotel: -1, room: '' });
    }
  }
  for (let i = 0; i < residents; i++) {
    const roll = rng.float();
    if (role[i] === ROLE.child || age[i] > 80 || trip[i] >= 0) continue;
    if (roll < 0.01) {
      const city = rng.pick(otherCities);
      const day = rng.int(days);
      trip[i] = trips.length;
      trips.push({ kind: 'return', arrive: leg(city, true, day, true), city, hotel: -1, room: '' });
    } else if (roll < 0.046) {
      const city = rng.chance(0.05) ? HIGH_RISK_CITY : rng.pick(otherCities);
      const out = rng.int(days);
      const back = out + rng.range(2, 8);
      trip[i] = trips.length;
      trips.push({ kind: 'out_and_back', depart: leg(city, false, out, city !== HIGH_RISK_CITY), arrive: leg(city, true, back, city !== HIGH_RISK_CITY), city, hotel: -1, room: '' });
    }
  }

  // Visitors, in groups sharing a hotel room.
  const originWeights = cumulative(ORIGINS.map(([, city]) => (city === HIGH_RISK_CITY ? 3 : 1)));
  let v = residents;
  let roomCounter = 0;
  while (v < people) {
    const group = Math.min(people - v, rng.range(1, 3));
    const [region, city] = ORIGINS[rng.weighted(originWeights)];
    const fromWuhan = city === HIGH_RISK_CITY;
    const arriveDay = fromWuhan ? rng.int(wuhanDays) : rng.int(days);
    const departDay = arriveDay + rng.range(1, 5);
    const hotel = rng.int(hotels.length);
    roomCounter++;
    const room = `${String(2 + (roomCounter % 18)).padStart(2, '0')}${String(1 + (Math.floor(roomCounter / 18) % 40)).padStart(2, '0')}`;
    const arrive = leg(city, true, arriveDay, !fromWuhan);
    const depart = leg(city, false, departDay, !fromWuhan);
    const hotelSite = hotels[hotel];
    for (let k = 0; k < group; k++) {
      const i = v + k;
      age[i] = rng.range(20, 70);
      male[i] = rng.chance(0.5) ? 1 : 0;
      name[i] = randomName(rng);
      role[i] = ROLE.visitor;
      district[i] = geo.communities[hotelSite.community].district;
      homeCell[i] = hotelSite.cell;
      issue(i, region);
      phone[i] = phoneNumber(i, mix32(seed) % 100000000);
      trip[i] = trips.length;
      // Members of a group share the room, and sit together: each gets the next seat.
      const a = k === 0 ? arrive : { ...arrive, sub: arrive.mode === 'car' ? '' : seat(arrive.service, arriveDay) };
      const d = k === 0 ? depart : { ...depart, sub: depart.mode === 'car' ? '' : seat(depart.service, departDay) };
      trips.push({ kind: 'visit', arrive: a, depart: d, city, hotel, room });
    }
    v += group;
  }

  return {
    seed, geo, residents, people, idCard, phone, card, plate, name, age, male, role, household, district, homeCell, dest, destCell, midCell,
    commute, line, commuteMin, leaveMin, workEnd, trip,
    householdId, householdCommunity: Int32Array.from(hhCommunity), householdLon: Float64Array.from(hhLon), householdLat: Float64Array.from(hhLat),
    householdAddress: hhAddress, householdStart: Int32Array.from(hhStart), householdSize: Uint8Array.from(hhSize),
    workplaces: workUnits, schools: classUnits, venues, venuesByCategoryDistrict, hotels, metroLines, busLines, checkpoints, trips, usedCells,
  };
}
