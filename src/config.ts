/**
 * @module Configuration: flags win over `CORDON_*` environment variables, which win over defaults.
 * Every value is validated at start; each bad value gets its own clear message.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Config {
  /** Data folder: the embedded stores, generated demo city, rejects files. */
  dataDir: string;
  host: string;
  port: number;
  /** IANA time zone of the deployment: date-only presences are whole days in it. */
  timeZone: string;
  /** Presences older than this many days are purged. */
  retentionDays: number;
  /** Records store: `sqlite:PATH` (default, in the data folder) or `postgres://…`. */
  databaseUrl: string;
  /** Presence store: `duckdb:PATH` (default, in the data folder) or `clickhouse://…`. */
  presenceUrl: string;
  /** `demo` generates a demo city and demo users on first start; `production` refuses default secrets. */
  mode: 'demo' | 'production';
  /** Secret for signing; production refuses to start with the default. */
  secret: string;
  /** People in the demo city generated on first start. */
  demoPeople: number;
  demoDays: number;
  /**
   * First day (YYYY-MM-DD, local) of the demo city. Defaults to `demoDays` days before today, so the
   * demo's data is recent: traces "until now" and the retention limit behave as they would live.
   */
  demoStart: string;
  /** A JSON file of push rules (command type, priority and deadline per kind of lead); absent = the built-in rules. */
  pushRulesFile?: string;
}

export const DEFAULT_SECRET = 'cordon-demo-secret-change-me';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Source = Record<string, string | undefined>;

/** Builds the configuration from flags (camelCase keys) and the environment. Throws ConfigError listing every bad value. */
export function loadConfig(flags: Source = {}, env: Source = process.env): Config {
  const problems: string[] = [];
  const pick = (flag: string, envName: string): { value: string | undefined; from: string } => {
    if (flags[flag] !== undefined) return { value: flags[flag], from: `--${flag.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}` };
    return { value: env[envName], from: envName };
  };
  const int = (flag: string, envName: string, def: number, min: number, max: number): number => {
    const { value, from } = pick(flag, envName);
    if (value === undefined || value === '') return def;
    if (!/^\d+$/.test(value.trim())) {
      problems.push(`${from}="${value}" is not a whole number (expected ${min}–${max})`);
      return def;
    }
    const n = Number(value);
    if (n < min || n > max) problems.push(`${from}=${value} is out of range (expected ${min}–${max})`);
    return n;
  };
  const str = (flag: string, envName: string, def: string): string => {
    const { value } = pick(flag, envName);
    return value === undefined || value === '' ? def : value;
  };

  const dataDir = path.resolve(str('data', 'CORDON_DATA', './data'));
  const host = str('host', 'CORDON_HOST', '127.0.0.1');
  const port = int('port', 'CORDON_PORT', 8080, 1, 65535);
  const timeZone = str('tz', 'CORDON_TZ', 'Asia/Shanghai');
  let timeZoneOk = true;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    timeZoneOk = false;
    problems.push(`${pick('tz', 'CORDON_TZ').from}="${timeZone}" is not a known IANA time zone (e.g. Asia/Shanghai)`);
  }
  const retentionDays = int('retentionDays', 'CORDON_RETENTION_DAYS', 28, 1, 3650);
  const databaseUrl = str('databaseUrl', 'CORDON_DATABASE_URL', `sqlite:${path.join(dataDir, 'records.sqlite')}`);
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    problems.push(`${pick('databaseUrl', 'CORDON_DATABASE_URL').from}="${redactUrl(databaseUrl)}" must start with sqlite: or postgres://`);
  }
  const presenceUrl = str('presenceUrl', 'CORDON_PRESENCE_URL', `duckdb:${path.join(dataDir, 'presence.duckdb')}`);
  if (!/^(duckdb:|clickhouse:\/\/)/.test(presenceUrl)) {
    problems.push(`${pick('presenceUrl', 'CORDON_PRESENCE_URL').from}="${redactUrl(presenceUrl)}" must start with duckdb: or clickhouse://`);
  }
  const modeRaw = str('mode', 'CORDON_MODE', 'demo');
  if (modeRaw !== 'demo' && modeRaw !== 'production') {
    problems.push(`${pick('mode', 'CORDON_MODE').from}="${modeRaw}" must be demo or production`);
  }
  const mode = modeRaw === 'production' ? 'production' : 'demo';
  const secret = str('secret', 'CORDON_SECRET', DEFAULT_SECRET);
  if (mode === 'production' && (secret === DEFAULT_SECRET || secret.length < 32)) {
    problems.push('production mode needs CORDON_SECRET set to a random value of at least 32 characters (the default secret is refused)');
  }
  const demoPeople = int('demoPeople', 'CORDON_DEMO_PEOPLE', 20000, 100, 10_000_000);
  const demoDays = int('demoDays', 'CORDON_DEMO_DAYS', 14, 1, 60);
  const demoStartRaw = pick('demoStart', 'CORDON_DEMO_START');
  let demoStart = localDate(Date.now() - demoDays * 86_400_000, timeZoneOk ? timeZone : 'UTC');
  if (demoStartRaw.value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(demoStartRaw.value);
    const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
    if (!m || !d || d.toISOString().slice(0, 10) !== demoStartRaw.value) {
      problems.push(`${demoStartRaw.from}="${demoStartRaw.value}" is not a calendar date YYYY-MM-DD`);
    } else demoStart = demoStartRaw.value;
  }

  const pushRules = pick('pushRules', 'CORDON_PUSH_RULES');
  const pushRulesFile = pushRules.value ? path.resolve(pushRules.value) : undefined;
  if (pushRulesFile && !fs.existsSync(pushRulesFile)) problems.push(`${pushRules.from}="${pushRules.value}": no such file`);

  if (problems.length) throw new ConfigError(problems);
  return { dataDir, host, port, timeZone, retentionDays, databaseUrl, presenceUrl, mode, secret, demoPeople, demoDays, demoStart, ...(pushRulesFile ? { pushRulesFile } : {}) };
}

/** The local calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDate(epochMs: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(epochMs));
}

/** Hides a password in a connection URL so it can be printed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}
