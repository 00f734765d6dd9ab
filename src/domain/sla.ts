/**
 * @module Push rules (SLA) as data: which command a lead becomes — type, priority and how soon — by
 * its category and degree. The first matching rule wins; a category no rule matches is recorded but
 * not pushed. Rules load from JSON with a clear error per bad field.
 */
import { COMMAND_TYPES, PRIORITIES, type CommandType, type Priority } from './command.ts';
import { CONTACT_CATEGORIES, type ContactCategory } from './lead.ts';

export interface PushRule {
  /** Short stable name, shown with every command it produced. */
  id: string;
  /** Matches leads of these categories. */
  categories: ContactCategory[];
  /** Matches only this degree, when set. */
  degree?: 1 | 2;
  type: CommandType;
  priority: Priority;
  /** Deadline: this many minutes after the push. */
  withinMinutes: number;
  description: string;
}

export interface PushRuleSet {
  version: string;
  rules: PushRule[];
  /** How many levels above the unit an overdue command may climb. */
  maxEscalationLevels: number;
}

/** The defaults: a close contact verified on site within 2 h, a secondary within 12 h, and so on. */
export const DEFAULT_PUSH_RULES: PushRuleSet = {
  version: 'default-1',
  maxEscalationLevels: 2,
  rules: [
    {
      id: 'key-person', categories: ['key_person'], type: 'home_control', priority: 'urgent', withinMinutes: 240,
      description: 'key person from a high-risk area: home control with the health department within 4 h',
    },
    {
      id: 'close', categories: ['close'], type: 'verify_on_site', priority: 'urgent', withinMinutes: 120,
      description: 'close contact: verify on site within 2 h',
    },
    {
      id: 'named', categories: ['named'], type: 'verify_on_site', priority: 'urgent', withinMinutes: 120,
      description: 'contact named by a case: verify on site within 2 h',
    },
    {
      id: 'secondary', categories: ['secondary'], type: 'verify_on_site', priority: 'high', withinMinutes: 720,
      description: 'secondary contact: verify on site within 12 h',
    },
    {
      id: 'companion', categories: ['companion'], type: 'test', priority: 'high', withinMinutes: 720,
      description: 'space-time companion: test within 12 h',
    },
  ],
};

/** The rule for a lead, or null when none matches (the exposure is recorded, not pushed). */
export function matchPushRule(set: PushRuleSet, lead: { category: ContactCategory; degree: 1 | 2 }): PushRule | null {
  for (const r of set.rules) {
    if (!r.categories.includes(lead.category)) continue;
    if (r.degree !== undefined && r.degree !== lead.degree) continue;
    return r;
  }
  return null;
}

/** The deadline (ISO) of a command pushed at `now` under `rule`. */
export function deadlineOf(rule: PushRule, now: string): string {
  return new Date(Date.parse(now) + rule.withinMinutes * 60_000).toISOString();
}

export class PushRuleError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid push rules:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PushRuleError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates push rules read from JSON; throws PushRuleError naming each bad field (`rules[2].type`). */
export function parsePushRules(json: unknown, source = 'push rules'): PushRuleSet {
  const problems: string[] = [];
  if (!isRecord(json)) throw new PushRuleError([`${source}: expected an object with version and rules`]);
  const version = typeof json.version === 'string' && json.version ? json.version : (problems.push(`${source}: version must be a non-empty string`), '');
  const maxRaw = json.maxEscalationLevels ?? 2;
  const maxEscalationLevels = typeof maxRaw === 'number' && Number.isInteger(maxRaw) && maxRaw >= 0 && maxRaw <= 3 ? maxRaw : (problems.push(`${source}: maxEscalationLevels must be 0–3`), 2);
  const rules: PushRule[] = [];
  if (!Array.isArray(json.rules)) problems.push(`${source}: rules must be a list`);
  else {
    const seen = new Set<string>();
    json.rules.forEach((r: unknown, i: number) => {
      const at = `${source}: rules[${i}]`;
      if (!isRecord(r)) return void problems.push(`${at} must be an object`);
      const id = typeof r.id === 'string' && r.id ? r.id : (problems.push(`${at}.id must be a non-empty string`), '');
      if (id && seen.has(id)) problems.push(`${at}.id "${id}" is used twice`);
      seen.add(id);
      const cats = Array.isArray(r.categories) ? r.categories : [];
      if (!cats.length) problems.push(`${at}.categories must list at least one of ${CONTACT_CATEGORIES.join(', ')}`);
      for (const c of cats) if (!(CONTACT_CATEGORIES as readonly unknown[]).includes(c)) problems.push(`${at}.categories: "${String(c)}" is not one of ${CONTACT_CATEGORIES.join(', ')}`);
      if (r.degree !== undefined && r.degree !== 1 && r.degree !== 2) problems.push(`${at}.degree must be 1 or 2`);
      if (!(COMMAND_TYPES as readonly unknown[]).includes(r.type)) problems.push(`${at}.type "${String(r.type)}" is not one of ${COMMAND_TYPES.join(', ')}`);
      if (!(PRIORITIES as readonly unknown[]).includes(r.priority)) problems.push(`${at}.priority "${String(r.priority)}" is not one of ${PRIORITIES.join(', ')}`);
      const w = r.withinMinutes;
      if (!(typeof w === 'number' && Number.isInteger(w) && w > 0 && w <= 30 * 24 * 60)) problems.push(`${at}.withinMinutes must be a whole number of minutes, 1–43200`);
      rules.push({
        id,
        categories: cats as ContactCategory[],
        ...(r.degree === 1 || r.degree === 2 ? { degree: r.degree } : {}),
        type: r.type as CommandType,
        priority: r.priority as Priority,
        withinMinutes: w as number,
        description: typeof r.description === 'string' ? r.description : '',
      });
    });
  }
  if (problems.length) throw new PushRuleError(problems);
  return { version, rules, maxEscalationLevels };
}
