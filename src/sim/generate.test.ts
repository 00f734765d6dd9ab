import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_KINDS, IDENTITY_LINK_COLUMNS, PEOPLE_COLUMNS, PLACE_COLUMNS, PLACE_KINDS, PRESENCE_COLUMNS } from '../domain/formats.ts';
import { readCsv, type CsvRecord } from './csv-read.ts';
import { generateCity, PRESENCE_SOURCES, readTruth, type GenerateSummary, type Truth } from './generate.ts';
import { pointInRing } from './geo.ts';
import { isValidIdCard } from './identifiers.ts';
import { BBOX } from './names.ts';

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function realDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** Epoch seconds of an ISO time or a date (local midnight +08:00), or null when it is not a real time. */
function parseTime(s: string): { t: number; dateOnly: boolean } | null {
  let m = ISO.exec(s);
  if (m) {
    const [y, mo, d, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m![i]));
    if (!realDate(y, mo, d) || h > 23 || mi > 59 || se > 59) return null;
    const off = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
    return { t: Date.UTC(y, mo - 1, d, h, mi, se) / 1000 - off * 60, dateOnly: false };
  }
  m = DATE.exec(s);
  if (m) {
    const [y, mo, d] = [1, 2, 3].map((i) => Number(m![i]));
    if (!realDate(y, mo, d)) return null;
    return { t: Date.UTC(y, mo - 1, d) / 1000 - 8 * 3600, dateOnly: true };
  }
  return null;
}

/** Validates a presence row against the canonical schema; returns the reason it is bad, or null. */
function presenceProblem(f: string[]): string | null {
  if (f.length !== PRESENCE_COLUMNS.length) return 'wrong_column_count';
  if (!(ID_KINDS as readonly string[]).includes(f[0])) return 'unknown_id_kind';
  if (f[1] === '') return 'empty_id';
  if (!(PLACE_KINDS as readonly string[]).includes(f[2])) return 'unknown_place_kind';
  if (f[3] === '') return 'empty_place';
  const start = parseTime(f[4]);
  if (!start) return 'bad_date';
  if (f[5] !== '') {
    const end = parseTime(f[5]);
    if (!end || end.dateOnly) return 'bad_date';
    if (end.t <= start.t) return 'end_before_start';
  }
  return null;
}

interface Row {
  id: string;
  start: number;
  end: number | null;
  sub: string;
}

describe('generateCity', () => {
  let dir: string;
  let summary: GenerateSummary;
  let truth: Truth;
  const days = 7;
  const people = 2000;
  const presence: Record<string, CsvRecord[]> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-sim-'));
    summary = await generateCity({ seed: 42, people, days, out: path.join(dir, 'a') });
    truth = readTruth(summary.paths.truth);
    for (const src of PRESENCE_SOURCES) presence[src] = readCsv(summary.paths.presences[src]).records;
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives byte-identical files for the same seed and different ones for another seed', async () => {
    const sut = generateCity;
    const a = await sut({ seed: 7, people: 300, days: 3, out: path.join(dir, 'same1') });
    const b = await sut({ seed: 7, people: 300, days: 3, out: path.join(dir, 'same2') });
    const c = await sut({ seed: 8, people: 300, days: 3, out: path.join(dir, 'other') });
    expect(a.files.map((f) => f.name)).toEqual(b.files.map((f) => f.name));
    for (const f of a.files) {
      const other = path.join(b.out, f.name);
      expect(fs.readFileSync(f.path).equals(fs.readFileSync(other)), f.name).toBe(true);
    }
    const differing = a.files.filter((f) => !fs.readFileSync(f.path).equals(fs.readFileSync(path.join(c.out, f.name))));
    expect(differing.map((f) => f.name)).toEqual(expect.arrayContaining(['people.csv', 'presences-telecom.csv', 'presences-venue.csv', 'truth.json']));
  });

  it('writes every presence file in the canonical schema, except the malformed rows the truth lists', () => {
    const listed = new Map(truth.malformed_rows.map((m) => [`${m.file}:${m.line}`, m.label]));
    let bad = 0;
    let total = 0;
    const dateOnly: Record<string, number> = {};
    const mismatches: string[] = [];
    for (const src of PRESENCE_SOURCES) {
      const file = `presences-${src}.csv`;
      expect(readCsv(summary.paths.presences[src]).header).toEqual([...PRESENCE_COLUMNS]);
      let previous = '';
      for (const r of presence[src]) {
        total++;
        const problem = presenceProblem(r.fields);
        const label = listed.get(`${file}:${r.line}`);
        if (problem) bad++;
        // A duplicated date-only row counts once.
        else if (DATE.test(r.fields[4]) && r.text !== previous) dateOnly[file] = (dateOnly[file] ?? 0) + 1;
        previous = r.text;
        if ((problem ?? undefined) !== label) mismatches.push(`${file}:${r.line} found ${problem} listed ${label}: ${r.text}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(bad).toBe(truth.malformed_rows.length);
    expect(bad).toBe(summary.malformedRows);
    // About one row in a thousand.
    expect(bad / total).toBeGreaterThan(0.0004);
    expect(bad / total).toBeLessThan(0.003);
    expect(dateOnly).toEqual(truth.date_only_rows);
    expect(Object.values(dateOnly).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(new Set(truth.malformed_rows.map((m) => m.label)).size).toBeGreaterThanOrEqual(5);
  });

  it('counts the duplicate rows it writes (each follows its original)', () => {
    const found: Record<string, number> = {};
    for (const src of PRESENCE_SOURCES) {
      const rows = presence[src];
      for (let i = 1; i < rows.length; i++) {
        if (rows[i].text === rows[i - 1].text) found[`presences-${src}.csv`] = (found[`presences-${src}.csv`] ?? 0) + 1;
      }
    }
    expect(found).toEqual(truth.duplicate_rows);
    expect(summary.duplicateRows).toBeGreaterThan(0);
  });

  it('writes people, places and identity links in their canonical schemas with valid ID cards', () => {
    const ppl = readCsv(summary.paths.people);
    expect(ppl.header).toEqual([...PEOPLE_COLUMNS]);
    const ids = new Set<string>();
    const badPeople: string[] = [];
    for (const r of ppl.records) {
      const f = r.fields;
      ids.add(f[1]);
      const ok = f.length === PEOPLE_COLUMNS.length && f[0] === 'id_card' && isValidIdCard(f[1]) && /^\p{Script=Han}{2,3}$/u.test(f[2]) &&
        (f[4] === '' || (Number(f[4]) >= BBOX.south && Number(f[4]) <= BBOX.north && Number(f[5]) >= BBOX.west && Number(f[5]) <= BBOX.east && /^3302\d{7}$/.test(f[6])));
      if (!ok) badPeople.push(r.text);
    }
    expect(badPeople).toEqual([]);
    expect(ids.size).toBe(ppl.records.length);
    expect(ppl.records.length).toBe(summary.residents + summary.visitors);

    const places = readCsv(summary.paths.places);
    expect(places.header).toEqual([...PLACE_COLUMNS]);
    const kinds = new Set<string>();
    const placeIds = new Set<string>();
    for (const r of places.records) {
      expect(r.fields).toHaveLength(PLACE_COLUMNS.length);
      expect(PLACE_KINDS).toContain(r.fields[0]);
      kinds.add(r.fields[0]);
      const key = `${r.fields[0]}:${r.fields[1]}`;
      expect(placeIds.has(key), key).toBe(false);
      placeIds.add(key);
    }
    expect([...kinds].sort()).toEqual([...PLACE_KINDS].sort());
    const categories = new Set(places.records.map((r) => r.fields[6]));
    for (const c of ['card_room', 'elderly_center', 'bar', 'restaurant', 'market', 'pharmacy', 'hospital']) expect(categories).toContain(c);
    // Every place a presence row names is listed.
    const unlisted = new Set<string>();
    for (const src of PRESENCE_SOURCES) {
      for (const r of presence[src]) {
        if (!presenceProblem(r.fields) && !placeIds.has(`${r.fields[2]}:${r.fields[3]}`)) unlisted.add(`${r.fields[2]}:${r.fields[3]}`);
      }
    }
    expect([...unlisted]).toEqual([]);

    const links = readCsv(summary.paths.identityLinks);
    expect(links.header).toEqual([...IDENTITY_LINK_COLUMNS]);
    for (const r of links.records) {
      expect(r.fields).toHaveLength(IDENTITY_LINK_COLUMNS.length);
      expect(ID_KINDS).toContain(r.fields[0]);
      expect(ID_KINDS).toContain(r.fields[2]);
      expect(r.fields[1]).not.toBe('');
      expect(r.fields[3]).not.toBe('');
    }
    // The wrong links are where the truth says, and really give one phone two ID cards.
    expect(truth.wrong_identity_links.length).toBeGreaterThanOrEqual(2);
    for (const w of truth.wrong_identity_links) {
      const r = links.records.find((x) => x.line === w.line)!;
      expect(r.fields.slice(0, 4)).toEqual([w.a_kind, w.a_value, w.b_kind, w.b_value]);
      const owners = links.records.filter((x) => x.fields[2] === 'phone' && x.fields[3] === w.b_value).map((x) => x.fields[1]);
      expect(new Set(owners).size).toBe(2);
      expect(owners).toContain(w.true_owner.slice('id_card:'.length));
    }
  });

  it('tiles the jurisdictions: city, the ten districts, precincts and communities with polygons in the box', () => {
    const fc = JSON.parse(fs.readFileSync(summary.paths.jurisdictions, 'utf8')) as {
      type: string;
      features: Array<{ properties: { code: string; name: string; name_en: string; level: string; parent: string | null }; geometry: { type: string; coordinates: unknown } }>;
    };
    expect(fc.type).toBe('FeatureCollection');
    const byCode = new Map(fc.features.map((f) => [f.properties.code, f]));
    const levels = fc.features.map((f) => f.properties.level);
    expect(levels.filter((l) => l === 'city')).toHaveLength(1);
    const districts = fc.features.filter((f) => f.properties.level === 'district').map((f) => f.properties.name);
    for (const d of ['海曙', '江北', '镇海', '北仑', '鄞州', '奉化', '余姚', '慈溪', '宁海', '象山']) expect(districts.some((n) => n.startsWith(d))).toBe(true);
    const precinctIn = (name: string, district: string): boolean =>
      fc.features.some((f) => f.properties.level === 'precinct' && f.properties.name.startsWith(name) && byCode.get(f.properties.parent!)!.properties.name.startsWith(district));
    expect(precinctIn('骆驼', '镇海')).toBe(true);
    expect(precinctIn('裘村', '奉化')).toBe(true);
    expect(precinctIn('丹东', '象山')).toBe(true);
    const parentLevel: Record<string, string> = { district: 'city', precinct: 'district', community: 'precinct' };
    for (const f of fc.features) {
      expect(f.properties.name_en).toMatch(/^[A-Za-z ]+$/);
      if (f.properties.level !== 'city') expect(byCode.get(f.properties.parent!)?.properties.level).toBe(parentLevel[f.properties.level]);
      const polys = (f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates) as number[][][][];
      for (const poly of polys) {
        for (const ring of poly) {
          expect(ring.length).toBeGreaterThanOrEqual(4);
          expect(ring[0]).toEqual(ring[ring.length - 1]);
          for (const [lon, lat] of ring) {
            expect(lon >= BBOX.west && lon <= BBOX.east && lat >= BBOX.south && lat <= BBOX.north).toBe(true);
          }
        }
      }
    }
    // A resident's home lies inside the polygon of the community the people file names.
    const inside = (code: string, lon: number, lat: number): boolean => {
      const g = byCode.get(code)!.geometry;
      const polys = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as Array<Array<Array<[number, number]>>>;
      return polys.some((poly) => pointInRing(lon, lat, poly[0]) && !poly.slice(1).some((hole) => pointInRing(lon, lat, hole)));
    };
    const residents = readCsv(summary.paths.people).records.filter((r) => r.fields[6] !== '');
    for (const r of residents.slice(0, 300)) expect(inside(r.fields[6], Number(r.fields[5]), Number(r.fields[4])), r.fields[6]).toBe(true);
    const roads = JSON.parse(fs.readFileSync(summary.paths.roads, 'utf8')) as { features: Array<{ geometry: { type: string } }> };
    expect(roads.features.length).toBeGreaterThanOrEqual(3);
    expect(roads.features.every((f) => f.geometry.type === 'LineString')).toBe(true);
  });

  it('has every infection of the truth backed by a co-presence in the presence files that meets a close-contact rule', () => {
    const links = readCsv(summary.paths.identityLinks).records;
    const wrong = new Set(truth.wrong_identity_links.map((w) => w.line));
    const owner = new Map<string, string>();
    for (const r of links) if (!wrong.has(r.line) && r.fields[0] === 'id_card') owner.set(`${r.fields[2]}:${r.fields[3]}`, `id_card:${r.fields[1]}`);
    const byPlace = new Map<string, Row[]>();
    for (const src of PRESENCE_SOURCES) {
      for (const r of presence[src]) {
        if (presenceProblem(r.fields)) continue;
        const key = `${r.fields[0]}:${r.fields[1]}`;
        const id = r.fields[0] === 'id_card' ? key : owner.get(key);
        if (!id) continue;
        const place = `${r.fields[2]}:${r.fields[3]}`;
        const list = byPlace.get(place) ?? [];
        list.push({ id, start: parseTime(r.fields[4])!.t, end: r.fields[5] ? parseTime(r.fields[5])!.t : null, sub: r.fields[6] });
        byPlace.set(place, list);
      }
    }
    expect(truth.infections.length).toBeGreaterThan(0);
    const seat = (s: string): { carriage: string; row: number } => {
      const p = s.split('-');
      return p.length === 3 ? { carriage: p[0], row: Number(p[1]) } : { carriage: '', row: Number(p[0]) };
    };
    for (const inf of truth.infections) {
      expect(['household', 'workplace', 'school', 'venue', 'hospital', 'hotel', 'train', 'flight']).toContain(inf.place_kind);
      const rows = byPlace.get(`${inf.place_kind}:${inf.place_id}`) ?? [];
      const a = rows.filter((r) => r.id === inf.infector);
      const b = rows.filter((r) => r.id === inf.infectee);
      const expStart = parseTime(inf.exposure_start)!.t;
      const expEnd = parseTime(inf.exposure_end)!.t;
      expect(expEnd - expStart).toBe(inf.overlap_seconds);
      const meets = a.some((x) => b.some((y) => {
        switch (inf.place_kind) {
          case 'venue':
          case 'hospital':
            // QR scans are point events: scanned within 15 minutes of each other, and a true overlap of 15 minutes or more.
            return x.end === null && y.end === null && Math.abs(x.start - y.start) <= 900 && inf.overlap_seconds >= 900;
          case 'train':
          case 'flight': {
            const sx = seat(x.sub);
            const sy = seat(y.sub);
            return sx.carriage === sy.carriage && Math.abs(sx.row - sy.row) <= 3 && x.sub === inf.infector_sub && y.sub === inf.sub;
          }
          case 'hotel':
            return x.sub === y.sub && Math.min(x.end!, y.end!) > Math.max(x.start, y.start);
          case 'household':
            return Math.min(x.end!, y.end!) > Math.max(x.start, y.start) && x.start <= expStart && y.start <= expStart && x.end! >= expEnd && y.end! >= expEnd;
          case 'workplace':
          case 'school':
            return Math.max(x.start, y.start) === expStart && Math.min(x.end!, y.end!) === expEnd && expEnd - expStart >= 900;
          case 'bus':
          case 'metro':
          case 'cell':
          case 'checkpoint':
            return false;
        }
      }));
      expect(meets, JSON.stringify(inf)).toBe(true);
    }
    // Infectors were infectious when they infected.
    const cases = new Map(truth.cases.map((c) => [c.id, c]));
    for (const inf of truth.infections) {
      const c = cases.get(inf.infector)!;
      expect(inf.at.slice(0, 10) >= c.infectious_from).toBe(true);
      expect(cases.get(inf.infectee)!.infected_on).toBe(inf.exposure_start.slice(0, 10));
    }
  });

  it('describes a modest outbreak with index cases from the high-risk region, onsets and asymptomatic cases', () => {
    expect(truth.index_cases.length).toBeGreaterThanOrEqual(3);
    expect(truth.index_cases.length).toBeLessThanOrEqual(10);
    expect(truth.cases.filter((c) => c.index && c.arrival?.from === '武汉').length).toBeGreaterThanOrEqual(1);
    expect(truth.infections.length).toBeLessThan(people * 0.1);
    const infectees = truth.infections.map((i) => i.infectee);
    expect(new Set(infectees).size).toBe(infectees.length);
    for (const c of truth.cases) {
      expect(c.asymptomatic ? c.onset === null && c.sampled !== null : c.onset !== null).toBe(true);
      const ref = (c.onset ?? c.sampled)!;
      // Incubation of three days or more: infectious only from the day after infection.
      expect(c.infectious_from > c.infected_on).toBe(true);
      expect(new Date(ref).getTime() - new Date(c.infectious_from).getTime()).toBe(2 * 86400_000);
    }
    expect(Object.keys(truth.onsets).length + truth.asymptomatic.length).toBe(truth.cases.length);
    // No truth in the presence files: nothing there says who is infected.
    expect(fs.readFileSync(summary.paths.presences.household, 'utf8')).not.toMatch(/infect|onset|positive/);
  });

  it('has sane distributions: households, stays per person-day, travel, venue occupancy', () => {
    // Household sizes from the household registry.
    const members = new Map<string, Set<string>>();
    for (const r of presence.household) {
      if (presenceProblem(r.fields)) continue;
      const s = members.get(r.fields[3]) ?? new Set<string>();
      s.add(r.fields[1]);
      members.set(r.fields[3], s);
    }
    const sizes = [...members.values()].map((s) => s.size);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(mean).toBeGreaterThan(2.2);
    expect(mean).toBeLessThan(3.2);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(6);
    const single = sizes.filter((s) => s === 1).length / sizes.length;
    expect(single).toBeGreaterThan(0.15);
    expect(single).toBeLessThan(0.4);

    // Presences per person-day: about seven.
    const personDays = (summary.residents + summary.visitors) * days;
    const perDay = summary.presences / personDays;
    expect(perDay).toBeGreaterThan(5);
    expect(perDay).toBeLessThan(9);
    // Telecom stays per phone-day.
    const phones = new Set(presence.telecom.map((r) => r.fields[1]));
    const stays = presence.telecom.length / (phones.size * days);
    expect(stays).toBeGreaterThan(2);
    expect(stays).toBeLessThan(8);

    // Travellers: a few percent of people cross in or out by train, flight or car.
    const travellers = new Set(presence.manifest.filter((r) => !presenceProblem(r.fields)).map((r) => r.fields[1]));
    const share = travellers.size / (summary.residents + summary.visitors);
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.12);
    expect(truth.high_risk_arrivals.length).toBeGreaterThan(0);

    // Venue occupancy: QR scans per venue per day, and who goes to card rooms.
    const scans = new Map<string, number>();
    for (const r of presence.venue) if (!presenceProblem(r.fields) && r.fields[2] === 'venue') scans.set(r.fields[3], (scans.get(r.fields[3]) ?? 0) + 1);
    const places = readCsv(summary.paths.places).records;
    const venues = places.filter((r) => r.fields[0] === 'venue');
    const perVenueDay = [...scans.values()].reduce((a, b) => a + b, 0) / (venues.length * days);
    expect(perVenueDay).toBeGreaterThan(2);
    expect(perVenueDay).toBeLessThan(200);
    expect(scans.size / venues.length).toBeGreaterThan(0.9);
    const category = new Map(venues.map((r) => [r.fields[1], r.fields[6]]));
    const links = readCsv(summary.paths.identityLinks).records;
    const idOfPhone = new Map(links.filter((r) => r.fields[2] === 'phone').map((r) => [r.fields[3], r.fields[1]]));
    const ages: number[] = [];
    for (const r of presence.venue) {
      if (presenceProblem(r.fields) || category.get(r.fields[3]) !== 'card_room') continue;
      const idc = idOfPhone.get(r.fields[1]);
      if (idc) ages.push(2020 - Number(idc.slice(6, 10)));
    }
    expect(ages.length).toBeGreaterThan(0);
    expect(ages.filter((a) => a >= 55).length / ages.length).toBeGreaterThan(0.5);
    // Weekends differ: fewer workplace stays.
    const workByDay = new Map<string, number>();
    for (const r of presence.venue) if (r.fields[2] === 'workplace' && !presenceProblem(r.fields)) workByDay.set(r.fields[4].slice(0, 10), (workByDay.get(r.fields[4].slice(0, 10)) ?? 0) + 1);
    const weekend = ['2020-01-25', '2020-01-26'].map((d) => workByDay.get(d) ?? 0);
    const weekday = ['2020-01-20', '2020-01-21'].map((d) => workByDay.get(d) ?? 0);
    expect(Math.max(...weekend)).toBeLessThan(Math.min(...weekday) / 2);
  });
});
