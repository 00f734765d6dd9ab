/**
 * @module Contact rule sets as versioned data (`rules/v8.json`, `rules/v9.json`): loading, validation
 * with clear messages, and the pure evaluation of one pair of presences at the same place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLACE_KINDS, type PlaceKind } from './formats.ts';

export type Category = 'close' | 'secondary' | 'companion' | 'general';
/** A category a single pair of presences can give (secondary comes only from the second degree). */
export type PairCategory = 'close' | 'companion' | 'general';

/** Any overlap at all makes the category (household co-residence). */
export interface CoPresenceRule {
  rule: 'co-presence';
  category: PairCategory;
}
/** Seats in a vehicle: within `rows` rows (in the same carriage when `sameCarriage`) is close. */
export interface VehicleRowsRule {
  rule: 'vehicle-rows';
  rows: number;
  /** Trains: only the same carriage counts; flights: the whole cabin is one carriage. */
  sameCarriage: boolean;
  /** Same carriage (or cabin), farther rows. */
  otherCategory: PairCategory | null;
  /** When a seat is unknown on either side: overlap of at least this many minutes is close, else `otherCategory`. */
  withoutSeatMinutes: number;
}
/** Hotels: the same room is close; other rooms of the same hotel give `otherCategory`. */
export interface SameRoomRule {
  rule: 'same-room';
  otherCategory: PairCategory | null;
}
/** Overlap of at least `minutes` gives `category`; shorter gives `shorterCategory` (null: no contact). */
export interface DurationRule {
  rule: 'duration';
  minutes: number;
  category: PairCategory;
  shorterCategory: PairCategory | null;
}
export type KindRule = CoPresenceRule | VehicleRowsRule | SameRoomRule | DurationRule;

/** Weights of the risk score's parts (see risk.ts). */
export interface RiskWeights {
  category: Record<Category, number>;
  durationPerHour: number;
  durationMax: number;
  proximity: { household: number; sameRoom: number; seatRowsMax: number; seatRowPenalty: number };
  lowConfidence: number;
  repeatPerExposure: number;
  repeatMax: number;
}

/** A versioned rule set. */
export interface RuleSet {
  name: string;
  version: string;
  title: string;
  /** Days before onset (or sampling) the window starts. */
  lookbackDays: number;
  /** Rule per place kind; `default` applies to kinds not listed. */
  kinds: Partial<Record<PlaceKind, KindRule>> & { default: KindRule };
  risk: RiskWeights;
}

/** A rule set file that does not say what it must; the message names the file and the field. */
export class RuleSetError extends Error {
  constructor(readonly file: string, readonly field: string, problem: string) {
    super(`rule set ${file}: ${field} ${problem}`);
    this.name = 'RuleSetError';
  }
}

const PAIR_CATEGORIES = ['close', 'companion', 'general'] as const;
const RULES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rules');

/** Names of the rule sets shipped with Cordon. */
export function builtinRuleSets(): string[] {
  return fs.readdirSync(RULES_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

const cache = new Map<string, RuleSet>();

/** Loads a shipped rule set by name (`v8`, `v9`) or a rule set file by path (ends in `.json`). */
export function loadRuleSet(nameOrPath: string): RuleSet {
  const hit = cache.get(nameOrPath);
  if (hit) return hit;
  const file = nameOrPath.endsWith('.json') ? nameOrPath : path.join(RULES_DIR, `${nameOrPath}.json`);
  if (!/^[\w.-]+$/.test(nameOrPath) && !nameOrPath.endsWith('.json')) {
    throw new RuleSetError(nameOrPath, 'name', `is not a rule set name (known: ${builtinRuleSets().join(', ')})`);
  }
  if (!fs.existsSync(file)) {
    throw new RuleSetError(path.basename(file), 'file', `does not exist (known rule sets: ${builtinRuleSets().join(', ')})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RuleSetError(path.basename(file), 'file', `is not valid JSON: ${(err as Error).message}`);
  }
  const rules = validateRuleSet(raw, path.basename(file));
  cache.set(nameOrPath, rules);
  return rules;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a parsed rule set; throws RuleSetError naming the first bad field. */
export function validateRuleSet(raw: unknown, file = '(rule set)'): RuleSet {
  const fail = (field: string, problem: string): never => {
    throw new RuleSetError(file, field, problem);
  };
  if (!isObject(raw)) return fail('(top level)', 'must be a JSON object');
  const str = (o: Json, key: string, at: string): string => {
    const v = o[key];
    if (typeof v !== 'string' || v === '') return fail(`${at}${key}`, 'must be a non-empty string');
    return v;
  };
  const num = (o: Json, key: string, at: string, min: number, max: number, whole = false): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (whole && !Number.isInteger(v))) {
      return fail(`${at}${key}`, `must be a ${whole ? 'whole ' : ''}number from ${min} to ${max} (got ${JSON.stringify(v)})`);
    }
    return v;
  };
  const cat = (o: Json, key: string, at: string, nullable: boolean): PairCategory | null => {
    const v = o[key];
    if (v === null && nullable) return null;
    if (typeof v !== 'string' || !(PAIR_CATEGORIES as readonly string[]).includes(v)) {
      return fail(`${at}${key}`, `must be one of ${PAIR_CATEGORIES.join(', ')}${nullable ? ' or null' : ''} (got ${JSON.stringify(v)})`);
    }
    return v as PairCategory;
  };
  const kindRule = (v: unknown, at: string): KindRule => {
    if (!isObject(v)) return fail(at.slice(0, -1), 'must be an object');
    const rule = v.rule;
    switch (rule) {
      case 'co-presence':
        return { rule, category: cat(v, 'category', at, false) as PairCategory };
      case 'vehicle-rows': {
        if (typeof v.sameCarriage !== 'boolean') return fail(`${at}sameCarriage`, 'must be true or false');
        return {
          rule,
          rows: num(v, 'rows', at, 0, 1000, true),
          sameCarriage: v.sameCarriage,
          otherCategory: cat(v, 'otherCategory', at, true),
          withoutSeatMinutes: num(v, 'withoutSeatMinutes', at, 0, 1440),
        };
      }
      case 'same-room':
        return { rule, otherCategory: cat(v, 'otherCategory', at, true) };
      case 'duration':
        return {
          rule,
          minutes: num(v, 'minutes', at, 0, 1440),
          category: cat(v, 'category', at, false) as PairCategory,
          shorterCategory: cat(v, 'shorterCategory', at, true),
        };
      default:
        return fail(`${at}rule`, `must be one of co-presence, vehicle-rows, same-room, duration (got ${JSON.stringify(rule)})`);
    }
  };

  const name = str(raw, 'name', '');
  const version = str(raw, 'version', '');
  const title = typeof raw.title === 'string' ? raw.title : name;
  const lookbackDays = num(raw, 'lookbackDays', '', 0, 60, true);
  const kindsRaw = raw.kinds;
  if (!isObject(kindsRaw)) return fail('kinds', 'must be an object of rules per place kind');
  if (!('default' in kindsRaw)) return fail('kinds.default', 'is required (the rule for kinds not listed)');
  const kinds = { default: kindRule(kindsRaw.default, 'kinds.default.') } as RuleSet['kinds'];
  for (const [kind, v] of Object.entries(kindsRaw)) {
    if (kind === 'default') continue;
    if (!(PLACE_KINDS as readonly string[]).includes(kind)) {
      return fail(`kinds.${kind}`, `is not a place kind (expected ${PLACE_KINDS.join(', ')} or default)`);
    }
    kinds[kind as PlaceKind] = kindRule(v, `kinds.${kind}.`);
  }
  const riskRaw = raw.risk;
  if (!isObject(riskRaw)) return fail('risk', 'must be an object of risk weights');
  const catW = riskRaw.category;
  if (!isObject(catW)) return fail('risk.category', 'must be an object of weights per category');
  const prox = riskRaw.proximity;
  if (!isObject(prox)) return fail('risk.proximity', 'must be an object');
  const risk: RiskWeights = {
    category: {
      close: num(catW, 'close', 'risk.category.', 0, 100),
      secondary: num(catW, 'secondary', 'risk.category.', 0, 100),
      companion: num(catW, 'companion', 'risk.category.', 0, 100),
      general: num(catW, 'general', 'risk.category.', 0, 100),
    },
    durationPerHour: num(riskRaw, 'durationPerHour', 'risk.', 0, 100),
    durationMax: num(riskRaw, 'durationMax', 'risk.', 0, 100),
    proximity: {
      household: num(prox, 'household', 'risk.proximity.', 0, 100),
      sameRoom: num(prox, 'sameRoom', 'risk.proximity.', 0, 100),
      seatRowsMax: num(prox, 'seatRowsMax', 'risk.proximity.', 0, 100),
      seatRowPenalty: num(prox, 'seatRowPenalty', 'risk.proximity.', 0, 100),
    },
    lowConfidence: num(riskRaw, 'lowConfidence', 'risk.', -100, 0),
    repeatPerExposure: num(riskRaw, 'repeatPerExposure', 'risk.', 0, 100),
    repeatMax: num(riskRaw, 'repeatMax', 'risk.', 0, 100),
  };
  return { name, version, title, lookbackDays, kinds, risk };
}

/** The rule for a place kind (its own, else the set's default). */
export function ruleFor(rules: RuleSet, kind: PlaceKind): KindRule {
  return rules.kinds[kind] ?? rules.kinds.default;
}

/** A seat or room, parsed once. */
export interface SubInfo {
  text: string;
  /** Carriage number for `carriage-row-seat` (0 when the seat gives only a row, as on flights). */
  carriage: number | null;
  row: number | null;
}

/**
 * Parses a sub: `07-12-F` (carriage-row-seat), `12-F` or `12F` (row and seat, no carriage); anything
 * else (a hotel room) keeps only its text.
 */
export function parseSub(text: string): SubInfo {
  let m = /^(\d{1,3})-(\d{1,3})-?([A-Za-z]?)$/.exec(text);
  if (m) return { text, carriage: Number(m[1]), row: Number(m[2]) };
  m = /^(\d{1,3})-?([A-Za-z])$/.exec(text);
  if (m) return { text, carriage: 0, row: Number(m[1]) };
  return { text, carriage: null, row: null };
}

/** One side of a pair, already clipped to the window it counts in. Times are epoch seconds, [start, end). */
export interface PairSide {
  placeKind: PlaceKind;
  start: number;
  end: number;
  sub: SubInfo | null;
  dateOnly: boolean;
}

/** What one pair of presences at the same place gives. */
export interface PairVerdict {
  category: PairCategory;
  rule: KindRule['rule'];
  overlapSeconds: number;
  /** Rows apart in the same vehicle, when both seats are known. */
  seatDistance?: number;
  lowConfidence: boolean;
}

function minutes(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return s ? `${m} min ${s} s` : `${m} min`;
}

function seatKnown(s: SubInfo | null): s is SubInfo & { carriage: number; row: number } {
  return s !== null && s.row !== null && s.carriage !== null;
}

/**
 * Applies the rule set to two presences at the same place. Intervals are half-open, so intervals that
 * only touch share nothing and make no contact. Returns null when the pair is no contact at all.
 * (Hot: it builds no text; `explainPair` says why, for the pairs that are shown.)
 */
export function evaluatePair(rules: RuleSet, a: PairSide, b: PairSide): PairVerdict | null {
  return evaluateWith(ruleFor(rules, a.placeKind), a, b);
}

/** `evaluatePair` with the rule of the place kind already looked up (a trace looks it up once per kind). */
export function evaluateWith(rule: KindRule, a: PairSide, b: PairSide): PairVerdict | null {
  const category = pairCategory(rule, a, b);
  if (category === null) return null;
  const v: PairVerdict = { category, rule: rule.rule, overlapSeconds: Math.min(a.end, b.end) - Math.max(a.start, b.start), lowConfidence: a.dateOnly || b.dateOnly };
  if (lastSeatDistance !== undefined) v.seatDistance = lastSeatDistance;
  return v;
}

/** The seat distance the last `pairCategory` worked out (undefined when it had none). */
let lastSeatDistance: number | undefined;

/**
 * The category `evaluateWith` gives a pair, or null for no contact, without building the verdict: a
 * second-degree search weighs millions of pairs and keeps few. The one place the rules are applied.
 */
export function pairCategory(rule: KindRule, a: PairSide, b: PairSide): PairCategory | null {
  lastSeatDistance = undefined;
  const overlapSeconds = Math.min(a.end, b.end) - Math.max(a.start, b.start);
  if (overlapSeconds <= 0) return null;
  switch (rule.rule) {
    case 'co-presence':
      return rule.category;
    case 'duration':
      if (overlapSeconds >= Math.round(rule.minutes * 60)) return rule.category;
      return rule.shorterCategory ?? null;
    case 'same-room':
      if (a.sub && b.sub && a.sub.text === b.sub.text) return 'close';
      return rule.otherCategory ?? null;
    case 'vehicle-rows': {
      const sa = a.sub;
      const sb = b.sub;
      if (!seatKnown(sa) || !seatKnown(sb)) {
        if (overlapSeconds >= Math.round(rule.withoutSeatMinutes * 60)) return 'close';
        return rule.otherCategory ?? null;
      }
      if (rule.sameCarriage && sa.carriage !== sb.carriage) return null;
      const seatDistance = Math.abs(sa.row - sb.row);
      lastSeatDistance = seatDistance;
      if (seatDistance <= rule.rows) return 'close';
      return rule.otherCategory ?? null;
    }
  }
}

/** Reasons already worded, per rule (rules are loaded once and never change) and overlap in seconds (or seat distance and carriage). */
const reasons = new WeakMap<KindRule, Map<number, string>>();

/** The memo of worded reasons of a rule (started over past 100,000 texts). */
export function reasonsOf(rule: KindRule): Map<number, string> {
  let texts = reasons.get(rule);
  if (!texts) reasons.set(rule, (texts = new Map()));
  else if (texts.size >= 100_000) texts.clear();
  return texts;
}

/** Says in words why a pair got its verdict ("overlap 42 min ≥ 15 min", "carriage 7, 2 rows apart ≤ 3"). */
export function explainPair(rules: RuleSet, a: PairSide, b: PairSide, v: PairVerdict): string {
  return explainWith(ruleFor(rules, a.placeKind), a, b, v, reasonsOf);
}

/**
 * `explainPair` with the rule already looked up; `words` gives the rule's worded-reason memo (a
 * trace passes one that remembers the map it got for each rule, so the memo costs one lookup per rule).
 */
export function explainWith(rule: KindRule, a: PairSide, b: PairSide, v: PairVerdict, words: (rule: KindRule) => Map<number, string> = reasonsOf): string {
  switch (rule.rule) {
    case 'co-presence':
    case 'duration': {
      // These depend on the overlap alone, and a trace explains hundreds of pairs with the same few overlaps.
      const texts = words(rule);
      let why = texts.get(v.overlapSeconds);
      if (why === undefined) {
        const o = minutes(v.overlapSeconds);
        why = rule.rule === 'co-presence' ? `co-present ${o}`
          : v.overlapSeconds >= Math.round(rule.minutes * 60) ? `overlap ${o} ≥ ${rule.minutes} min` : `overlap ${o} < ${rule.minutes} min`;
        texts.set(v.overlapSeconds, why);
      }
      return why;
    }
    case 'same-room': {
      const o = minutes(v.overlapSeconds);
      if (v.category === 'close' && a.sub) return `same room ${a.sub.text}, ${o}`;
      const why = a.sub && b.sub ? `other room (${a.sub.text} / ${b.sub.text})` : 'same hotel, room unknown';
      return `${why}, ${o}`;
    }
    case 'vehicle-rows': {
      if (v.seatDistance === undefined) {
        const o = minutes(v.overlapSeconds);
        return v.category === 'close' ? `seat unknown, on board together ${o} ≥ ${rule.withoutSeatMinutes} min` : `seat unknown, on board together ${o}`;
      }
      const carriage = rule.sameCarriage && a.sub ? a.sub.carriage : null;
      // The words depend on the carriage and the distance alone: remembered for small whole numbers.
      const memo = Number.isInteger(v.seatDistance) && v.seatDistance >= 0 && v.seatDistance < 10_000 && (carriage === null || (Number.isInteger(carriage) && carriage >= 0 && carriage < 10_000));
      const k = memo ? (carriage === null ? 0 : carriage + 1) * 10_000 + v.seatDistance : -1;
      const texts = memo ? words(rule) : undefined;
      const known = texts?.get(k);
      if (known !== undefined) return known;
      const where = rule.sameCarriage && a.sub ? `carriage ${a.sub.carriage}, ` : '';
      const why = `${where}${v.seatDistance} rows apart ${v.seatDistance <= rule.rows ? '≤' : '>'} ${rule.rows}`;
      texts?.set(k, why);
      return why;
    }
  }
}

const RANK: Record<Category, number> = { close: 0, secondary: 1, companion: 2, general: 3 };

/** Orders categories strongest first (close, secondary, companion, general). */
export function categoryRank(c: Category): number {
  return RANK[c];
}

/** Whether any pair at a place of this kind can be close (a second-degree search skips kinds that cannot). */
export function canGiveClose(rules: RuleSet, kind: PlaceKind): boolean {
  const rule = ruleFor(rules, kind);
  switch (rule.rule) {
    case 'co-presence':
      return rule.category === 'close';
    case 'duration':
      return rule.category === 'close' || rule.shorterCategory === 'close';
    case 'same-room':
    case 'vehicle-rows':
      return true;
  }
}
