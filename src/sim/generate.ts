/**
 * @module `generateCity`: writes a deterministic synthetic Ningbo-like city and outbreak in the
 * canonical formats (docs/formats.md), streaming day by day so memory does not grow with the
 * output, with the ground truth in `truth.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PEOPLE_COLUMNS, PLACE_COLUMNS, IDENTITY_LINK_COLUMNS, type PlaceKind } from '../domain/formats.ts';
import { buildCity, CAT, SERVICES, VENUE_CATEGORIES } from './city.ts';
import { Clock } from './clock.ts';
import { CsvSink, csvField } from './csv-sink.ts';
import { PresenceRows, type PresenceSource } from './presence-rows.ts';
import { buildRoads, telecomCellCentre } from './geo.ts';
import { BUS_SLOTS, METRO_SLOTS, NO_DAY, Planner, SEG, seatRow, TRANSMITS, type DayPlan } from './mobility.ts';
import { HIGH_RISK_CITY } from './names.ts';
import { Rng } from './prng.ts';
import type { Truth, TruthCase, TruthInfection, TruthWrongLink } from './truth.ts';

export type { Truth, TruthCase, TruthInfection, TruthMalformedRow, TruthWrongLink, MalformedLabel } from './truth.ts';
export { readTruth } from './truth.ts';

/** What to generate. */
export interface GenerateOptions {
  /** Random seed (0–4294967295); the same options give byte-identical files. */
  seed: number;
  /** Residents; visitors (about 2% more) come on top. */
  people: number;
  /** Days of presences (1–60). */
  days: number;
  /** Output folder (created if missing; files in it are overwritten). */
  out: string;
  /** First day, YYYY-MM-DD; default 2020-01-20. */
  start?: string;
  /** IANA zone of the local times; default Asia/Shanghai (+08:00). */
  timeZone?: string;
  /** Called now and then; `peopleDone` runs from 0 to `people` over the whole run. */
  onProgress?: (p: { presences: number; peopleDone: number; people: number }) => void;
}

export { PRESENCE_SOURCES, type PresenceSource } from './presence-rows.ts';

/** One file written. */
export interface GeneratedFile {
  /** File name inside the output folder. */
  name: string;
  /** Full path. */
  path: string;
  /** Data rows (lines after the header), malformed and duplicate rows included; features for GeoJSON, infections for the truth. */
  rows: number;
  /** Size in bytes. */
  bytes: number;
}

/** What `generateCity` wrote, with counts. */
export interface GenerateSummary {
  /** The output folder, as given. */
  out: string;
  seed: number;
  /** First day, YYYY-MM-DD. */
  start: string;
  days: number;
  /** People living in the city (rows of people.csv with a jurisdiction). */
  residents: number;
  /** People staying in hotels for part of the window. */
  visitors: number;
  households: number;
  /** Rows of places.csv. */
  places: number;
  /** Rows of identity-links.csv, the wrong ones included. */
  identityLinks: number;
  /** Presence rows written over all presence files (malformed and duplicate rows included). */
  presences: number;
  indexCases: number;
  /** Transmissions inside the window (truth.json `infections`). */
  infections: number;
  /** Deliberately malformed presence rows (truth.json `malformed_rows`). */
  malformedRows: number;
  /** Exact duplicate presence rows. */
  duplicateRows: number;
  /** Wall-clock time of the whole run. */
  seconds: number;
  /** Every file written, in a stable order. */
  files: GeneratedFile[];
  /** Paths of the files by role. */
  paths: {
    jurisdictions: string;
    roads: string;
    people: string;
    places: string;
    identityLinks: string;
    presences: Record<PresenceSource, string>;
    /** Checkpoint temperatures (not a canonical file). */
    checkpointScans: string;
    truth: string;
  };
}

const PLACE_KIND_OF_SEG: PlaceKind[] = ['household', 'cell', 'workplace', 'school', 'venue', 'metro', 'bus', 'train', 'flight', 'hotel', 'checkpoint'];

/** Infection probability per qualifying exposure, by place (venues by category), scaled by hours where it says so. */
const P_HOUSEHOLD = 0.1;
const P_HOTEL_ROOM = 0.1;
const P_SEAT = 0.05;
const P_VENUE_PER_HOUR = [0.015, 0.0045, 0.0075, 0.045, 0.03, 0.022, 0.0075];
const P_SCHOOL = 0.006;
/** Close-contact rule: overlap of at least 15 minutes; venue scans are point events, so their starts must be within 15 minutes. */
const MIN_OVERLAP = 15;

interface HotEntry {
  person: number;
  kind: number;
  start: number;
  end: number;
  sub: string;
}

/** Generates the city into `opts.out`. Deterministic: the same options give byte-identical files. */
export async function generateCity(opts: GenerateOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const start = opts.start ?? '2020-01-20';
  const timeZone = opts.timeZone ?? 'Asia/Shanghai';
  const { seed, days } = opts;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`seed ${seed} must be a whole number 0–4294967295`);
  if (!Number.isInteger(opts.people) || opts.people < 50) throw new Error(`people ${opts.people} must be a whole number of at least 50`);
  if (!Number.isInteger(days) || days < 1 || days > 60) throw new Error(`days ${days} must be a whole number 1–60`);
  const clock = new Clock(start, days, timeZone);
  clock.prepare(-1, days + 1);
  fs.mkdirSync(opts.out, { recursive: true });
  const out = (name: string): string => path.join(opts.out, name);

  const city = buildCity(seed, opts.people, days, Number(start.slice(0, 4)));
  const N = city.people;

  // Static geography first: the basemap and the jurisdictions.
  fs.writeFileSync(out('jurisdictions.geojson'), JSON.stringify({ type: 'FeatureCollection', features: city.geo.features }));
  fs.writeFileSync(out('roads.geojson'), JSON.stringify({
    type: 'FeatureCollection',
    features: buildRoads().map((r) => ({ type: 'Feature', properties: { name: r.name, kind: r.kind }, geometry: { type: 'LineString', coordinates: r.coordinates } })),
  }));

  // Outbreak state.
  const health = {
    onset: new Int16Array(N).fill(NO_DAY),
    asymptomatic: new Uint8Array(N),
    isolated: new Int16Array(N).fill(NO_DAY),
  };
  const infectedDay = new Int16Array(N).fill(NO_DAY);
  const infectedOrder: number[] = [];
  const infections: TruthInfection[] = [];
  const planner = new Planner(city, health);
  const weekday0 = clock.weekday(0);
  planner.weekendDays = [0, 1, 2, 3, 4, 5, 6].map((k) => {
    const w = (weekday0 + k) % 7;
    return w === 0 || w === 6;
  });
  const rngOut = new Rng(seed, 3, 0);
  const incubation = (rng: Rng): number => Math.max(3, Math.min(14, Math.round(rng.lognormal(5, 0.45))));
  const infect = (p: number, day: number, rng: Rng): void => {
    infectedDay[p] = day;
    const onset = day + incubation(rng);
    health.onset[p] = onset;
    const asym = rng.chance(0.2);
    health.asymptomatic[p] = asym ? 1 : 0;
    health.isolated[p] = asym ? NO_DAY : onset + 2;
    infectedOrder.push(p);
  };
  const infectiousFrom = (p: number): number => health.onset[p] - 2;
  const infectiousTo = (p: number): number => (health.asymptomatic[p] ? health.onset[p] + 5 : health.onset[p] + 1);

  // Index cases: arrivals from the high-risk region first, then residents with no known source.
  const nIndex = Math.max(5, Math.round(opts.people / 600));
  const wuhanArrivals: number[] = [];
  for (let p = 0; p < N; p++) {
    const t = city.trip[p];
    if (t >= 0 && city.trips[t].city === HIGH_RISK_CITY && city.trips[t].arrive && (city.trips[t].kind !== 'out_and_back') && city.trips[t].arrive!.day < days) wuhanArrivals.push(p);
  }
  const indexCases: number[] = [];
  const fromWuhan = Math.min(wuhanArrivals.length, Math.ceil(nIndex * 0.4));
  for (let k = 0; k < fromWuhan; k++) {
    const p = wuhanArrivals[Math.floor(((k + 0.5) / fromWuhan) * wuhanArrivals.length)];
    const arrivalDay = city.trips[city.trip[p]].arrive!.day;
    const onset = arrivalDay + rngOut.range(1, 4);
    infectedDay[p] = onset - incubation(rngOut);
    health.onset[p] = onset;
    health.isolated[p] = onset + 2;
    infectedOrder.push(p);
    indexCases.push(p);
  }
  while (indexCases.length < nIndex) {
    const p = rngOut.int(city.residents);
    if (infectedDay[p] !== NO_DAY || city.trip[p] >= 0 || city.age[p] < 18) continue;
    const onset = rngOut.range(Math.min(2, days - 1), Math.max(1, Math.min(6, days - 1)));
    infectedDay[p] = onset - incubation(rngOut);
    health.onset[p] = onset;
    const asym = rngOut.chance(0.2);
    health.asymptomatic[p] = asym ? 1 : 0;
    health.isolated[p] = asym ? NO_DAY : onset + 2;
    infectedOrder.push(p);
    indexCases.push(p);
  }

  const txRng = new Rng(0);
  const hot = new Map<number, HotEntry[]>();
  const hotKey = (kind: number, place: number): number => kind * 0x4000000 + place;

  const rows = new PresenceRows(city, clock, seed, out, (kind, place) => hot.has(hotKey(kind, place)));
  const serviceDayId = (service: number, day: number): string => rows.serviceDayId(service, day);

  /** Tries to infect p through the hot entries at its segments. Only called for people not yet infected. */
  const transmit = (p: number, d: number, plan: DayPlan): void => {
    let seeded = false;
    for (let i = 0; i < plan.n; i++) {
      const k = plan.kind[i];
      if (!TRANSMITS[k]) continue;
      const entries = hot.get(hotKey(k, plan.place[i]));
      if (!entries) continue;
      for (const e of entries) {
        if (e.person === p || infectedDay[e.person] >= d) continue;
        const s = Math.max(plan.start[i], e.start);
        const en = Math.min(plan.end[i], e.end);
        const overlap = en - s;
        let prob = 0;
        switch (k) {
          case SEG.household:
            if (overlap > 0) prob = P_HOUSEHOLD;
            break;
          case SEG.hotel:
            if (overlap > 0 && plan.sub[i] === e.sub) prob = P_HOTEL_ROOM;
            break;
          case SEG.train:
          case SEG.flight: {
            const a = seatRow(plan.sub[i]);
            const b = seatRow(e.sub);
            if (overlap > 0 && a.carriage === b.carriage && Math.abs(a.row - b.row) <= 3) prob = P_SEAT;
            break;
          }
          case SEG.venue:
            // Scans are point events: require both the true overlap and scans within 15 minutes of each other.
            if (overlap >= MIN_OVERLAP && Math.abs(plan.start[i] - e.start) <= MIN_OVERLAP) {
              prob = P_VENUE_PER_HOUR[city.venues[plan.place[i]].category] * Math.min(3, overlap / 60);
            }
            break;
          case SEG.workplace:
            if (overlap >= MIN_OVERLAP) prob = Math.min(0.01, 0.2 / Math.max(1, city.workplaces[plan.place[i]].size));
            break;
          case SEG.school:
            if (overlap >= MIN_OVERLAP) prob = P_SCHOOL;
            break;
          default:
            break;
        }
        if (prob <= 0) continue;
        if (!seeded) {
          txRng.reseed(seed ^ 0x5bd1e995, p, d + 1000);
          seeded = true;
        }
        if (!txRng.chance(prob)) continue;
        infect(p, d, txRng);
        const kind = PLACE_KIND_OF_SEG[k] === 'venue' && city.venues[plan.place[i]].category === CAT.hospital ? 'hospital' : PLACE_KIND_OF_SEG[k];
        const hasSub = k === SEG.train || k === SEG.flight || k === SEG.hotel;
        const inf: TruthInfection = {
          infector: `id_card:${city.idCard[e.person]}`,
          infectee: `id_card:${city.idCard[p]}`,
          place_kind: kind,
          place_id: placeIdOf(k, plan.place[i], plan.start[i]),
          ...(hasSub ? { sub: plan.sub[i], infector_sub: e.sub } : {}),
          at: clock.isoSeconds(Math.round(((s + en) / 2) * 60)),
          overlap_seconds: overlap * 60,
          exposure_start: clock.iso(s),
          exposure_end: clock.iso(en),
        };
        infections.push(inf);
        return;
      }
    }
  };
  const placeIdOf = (k: number, place: number, start: number): string => {
    switch (k) {
      case SEG.household: return city.householdId[place];
      case SEG.workplace: return city.workplaces[place].id;
      case SEG.school: return city.schools[place].id;
      case SEG.venue: return city.venues[place].id;
      case SEG.hotel: return city.hotels[place].id;
      case SEG.train:
      case SEG.flight: return serviceDayId(place, Math.floor(start / 1440));
      default: return String(place);
    }
  };

  for (let d = 0; d < days; d++) {
    // The infectious people's day first, so everyone else's exposures can be checked as they are written.
    hot.clear();
    for (const p of infectedOrder) {
      if (d < infectiousFrom(p) || d > infectiousTo(p)) continue;
      const plan = planner.planDay(p, d, seed);
      for (let i = 0; i < plan.n; i++) {
        const k = plan.kind[i];
        if (!TRANSMITS[k]) continue;
        const key = hotKey(k, plan.place[i]);
        let list = hot.get(key);
        if (!list) hot.set(key, (list = []));
        list.push({ person: p, kind: k, start: plan.start[i], end: plan.end[i], sub: plan.sub[i] });
      }
    }
    for (let p = 0; p < N; p++) {
      const plan = planner.planDay(p, d, seed);
      rows.writePlan(p, plan);
      if (hot.size > 0 && infectedDay[p] === NO_DAY) transmit(p, d, plan);
      if ((p & 63) === 63 && rows.busy) await rows.drain();
      if ((p & 16383) === 16383) {
        opts.onProgress?.({ presences: rows.presences, peopleDone: Math.floor((d * N + p) / days), people: N });
        if ((p & 65535) === 65535) await new Promise((r) => setImmediate(r));
      }
    }
    opts.onProgress?.({ presences: rows.presences, peopleDone: Math.floor(((d + 1) * N) / days), people: N });
  }
  await rows.close();

  // People, places and identity links.
  const peopleSink = new CsvSink(out('people.csv'), PEOPLE_COLUMNS);
  for (let p = 0; p < N; p++) {
    const h = city.household[p];
    if (h >= 0) {
      const c = city.geo.communities[city.householdCommunity[h]];
      peopleSink.line(`id_card,${city.idCard[p]},${city.name[p]},${csvField(city.householdAddress[h])},${city.householdLat[h]},${city.householdLon[h]},${c.code}`);
    } else {
      const trip = city.trips[city.trip[p]];
      peopleSink.line(`id_card,${city.idCard[p]},${city.name[p]},${trip.city}市,,,`);
    }
  }
  peopleSink.close();

  const placesSink = new CsvSink(out('places.csv'), PLACE_COLUMNS);
  const communityCode = (i: number): string => city.geo.communities[i].code;
  const jurisdictionAt = (lon: number, lat: number): string => {
    const c = Math.min(119, Math.max(0, Math.floor((lon - 121) / 0.01)));
    const r = Math.min(139, Math.max(0, Math.floor((lat - 29) / 0.01)));
    return communityCode(city.geo.communityOfCell[r * 120 + c]);
  };
  let places = 0;
  const placeRow = (kind: PlaceKind, id: string, name: string, lat: number | string, lon: number | string, jur: string, category: string): void => {
    placesSink.line(`${kind},${id},${csvField(name)},${lat},${lon},${jur},${category}`);
    places++;
  };
  for (let h = 0; h < city.householdId.length; h++) {
    placeRow('household', city.householdId[h], `住户${city.householdId[h].slice(2)}`, city.householdLat[h], city.householdLon[h], communityCode(city.householdCommunity[h]), 'residence');
  }
  for (const w of city.workplaces) placeRow('workplace', w.id, w.name, w.lat, w.lon, communityCode(w.community), w.name.includes('工厂') ? 'factory' : 'office');
  for (const s of city.schools) placeRow('school', s.id, s.name, s.lat, s.lon, communityCode(s.community), 'school');
  for (const v of city.venues) placeRow(v.category === CAT.hospital ? 'hospital' : 'venue', v.id, v.name, v.lat, v.lon, communityCode(v.community), VENUE_CATEGORIES[v.category]);
  for (const h of city.hotels) placeRow('hotel', h.id, h.name, h.lat, h.lon, communityCode(h.community), 'hotel');
  for (const c of city.checkpoints) placeRow('checkpoint', c.id, c.name, c.lat, c.lon, jurisdictionAt(c.lon, c.lat), 'checkpoint');
  for (let i = 0; i < rows.metroRunIds.length; i++) {
    if (rows.usedMetro[i]) placeRow('metro', rows.metroRunIds[i], `地铁${Math.floor(i / METRO_SLOTS) + 1}号线 ${rows.metroRunIds[i].slice(-4, -2)}:${rows.metroRunIds[i].slice(-2)}班次`, '', '', '', 'station');
  }
  for (let i = 0; i < rows.busRunIds.length; i++) {
    if (rows.usedBus[i]) placeRow('bus', rows.busRunIds[i], `公交${Math.floor(i / BUS_SLOTS) + 1}路 ${rows.busRunIds[i].slice(-4, -2)}:${rows.busRunIds[i].slice(-2)}班次`, '', '', '', 'station');
  }
  for (const key of [...rows.usedServiceDays].sort((a, b) => a - b)) {
    const service = Math.floor(key / 1024);
    const dayStart = (key % 1024) - 128;
    const svc = SERVICES[service];
    const id = serviceDayId(service, dayStart);
    const station = svc.mode === 'train' ? [29.8635, 121.5385] : [29.8267, 121.4619];
    placeRow(svc.mode, id, `${svc.code} ${svc.inbound ? svc.city + '→宁波' : '宁波→' + svc.city}`, station[0], station[1], jurisdictionAt(station[1], station[0]), svc.mode === 'train' ? 'station' : 'airport');
  }
  for (const c of [...rows.cellIds.keys()].sort((a, b) => a - b)) {
    const [lon, lat] = telecomCellCentre(c);
    placeRow('cell', rows.cellIds.get(c)!, `网格${rows.cellIds.get(c)!.slice(6)}`, lat, lon, jurisdictionAt(lon, lat), '');
  }
  placesSink.close();

  // Identity links, with a few deliberately wrong ones among people untouched by the outbreak.
  const linksSink = new CsvSink(out('identity-links.csv'), IDENTITY_LINK_COLUMNS);
  const wrongLinks: TruthWrongLink[] = [];
  const nWrong = Math.max(2, Math.round(N / 5000));
  const wrongAt = new Set<number>();
  const linkRng = new Rng(seed, 11, 0);
  while (wrongAt.size < nWrong) {
    const p = linkRng.int(city.residents);
    if (infectedDay[p] === NO_DAY && city.phone[p] !== '') wrongAt.add(p);
  }
  let links = 0;
  for (let p = 0; p < N; p++) {
    const idc = city.idCard[p];
    if (city.phone[p]) { linksSink.line(`id_card,${idc},phone,${city.phone[p]},telecom_real_name`); links++; }
    if (city.card[p]) { linksSink.line(`id_card,${idc},card,${city.card[p]},transit_card_registry`); links++; }
    if (city.plate[p]) { linksSink.line(`id_card,${idc},plate,${city.plate[p]},vehicle_registry`); links++; }
    if (wrongAt.has(p)) {
      // Someone else's ID card registered against this person's phone (a typo at a hotel desk, say).
      let q = linkRng.int(city.residents);
      while (q === p || infectedDay[q] !== NO_DAY) q = linkRng.int(city.residents);
      wrongLinks.push({ file: 'identity-links.csv', line: linksSink.lines + 1, a_kind: 'id_card', a_value: city.idCard[q], b_kind: 'phone', b_value: city.phone[p], true_owner: `id_card:${idc}`, why: 'phone linked to a second ID card' });
      linksSink.line(`id_card,${city.idCard[q]},phone,${city.phone[p]},hotel_registry`);
      links++;
    }
  }
  linksSink.close();

  // The truth.
  const id = (p: number): string => `id_card:${city.idCard[p]}`;
  const cases: TruthCase[] = infectedOrder.map((p) => {
    const asym = health.asymptomatic[p] === 1;
    const trip = city.trip[p] >= 0 ? city.trips[city.trip[p]] : undefined;
    const isIndex = indexCases.includes(p);
    const arrival = isIndex && trip?.arrive && trip.city === HIGH_RISK_CITY ? trip.arrive : undefined;
    const c: TruthCase = {
      id: id(p),
      index: isIndex,
      infected_on: clock.date(infectedDay[p]),
      onset: asym ? null : clock.date(health.onset[p]),
      sampled: asym ? clock.date(health.onset[p]) : null,
      asymptomatic: asym,
      infectious_from: clock.date(health.onset[p] - 2),
      isolated: asym ? null : clock.date(health.isolated[p]),
    };
    if (arrival) {
      c.arrival = arrival.mode === 'car'
        ? { place_kind: 'checkpoint', place_id: city.checkpoints[arrival.service].id, at: clock.iso(arrival.start), from: trip!.city }
        : { place_kind: arrival.mode, place_id: serviceDayId(arrival.service, Math.floor(arrival.start / 1440)), sub: arrival.sub, at: clock.iso(arrival.end), from: trip!.city };
    }
    return c;
  });
  const truth: Truth = {
    format: 'cordon-sim-truth/1',
    seed,
    options: { people: opts.people, days, start, timeZone },
    high_risk_region: HIGH_RISK_CITY,
    index_cases: indexCases.map(id),
    cases,
    infections,
    onsets: Object.fromEntries(cases.filter((c) => c.onset).map((c) => [c.id, c.onset!])),
    asymptomatic: cases.filter((c) => c.asymptomatic).map((c) => c.id),
    malformed_rows: rows.malformed,
    duplicate_rows: rows.duplicates,
    date_only_rows: rows.dateOnly,
    wrong_identity_links: wrongLinks,
    travellers: city.trips.length,
    high_risk_arrivals: wuhanArrivals.map(id),
  };
  const truthPath = out('truth.json');
  // Written last and renamed into place: a folder with truth.json is a complete city.
  fs.writeFileSync(truthPath + '.partial', JSON.stringify(truth, null, 1));
  fs.renameSync(truthPath + '.partial', truthPath);

  const fileInfo = (p: string, rows: number): GeneratedFile => ({ name: path.basename(p), path: p, rows, bytes: fs.statSync(p).size });
  const files: GeneratedFile[] = [
    fileInfo(out('jurisdictions.geojson'), city.geo.features.length),
    fileInfo(out('roads.geojson'), buildRoads().length),
    fileInfo(peopleSink.path, peopleSink.rows),
    fileInfo(placesSink.path, placesSink.rows),
    fileInfo(linksSink.path, linksSink.rows),
    ...rows.writers.map((w) => fileInfo(w.path, w.rows)),
    fileInfo(rows.checkpointScans.path, rows.checkpointScans.rows),
    fileInfo(truthPath, infections.length),
  ];
  return {
    out: opts.out,
    seed,
    start,
    days,
    residents: city.residents,
    visitors: N - city.residents,
    households: city.householdId.length,
    places,
    identityLinks: links,
    presences: rows.writers.reduce((s, w) => s + w.rows, 0),
    indexCases: indexCases.length,
    infections: infections.length,
    malformedRows: rows.malformed.length,
    duplicateRows: Object.values(rows.duplicates).reduce((a, b) => a + b, 0),
    seconds: (performance.now() - started) / 1000,
    files,
    paths: {
      jurisdictions: out('jurisdictions.geojson'),
      roads: out('roads.geojson'),
      people: peopleSink.path,
      places: placesSink.path,
      identityLinks: linksSink.path,
      presences: rows.paths,
      checkpointScans: rows.checkpointScans.path,
      truth: truthPath,
    },
  };

}

