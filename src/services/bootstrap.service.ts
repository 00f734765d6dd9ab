/**
 * @module Starting Cordon: open the stores named by the configuration, wire the services, and on the
 * first start of a demo with an empty data folder generate the demo city, import its jurisdictions,
 * ingest its files, build the index and create one demo user per role. Progress goes to a reporter
 * (the `serve` command draws it on stderr); a step whose part is unavailable is skipped with a note.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { ALL_JURISDICTIONS, type JurisdictionTree } from '../domain/jurisdiction.ts';
import type { Role } from '../domain/roles.ts';
import { generateCity } from '../sim/generate.ts';
import { DuckDbPresenceStore, openDuckDbScratch } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import type { PresenceStore } from '../stores/presence/presence-store.ts';
import { openRecordsStore } from '../stores/records/open-records-store.ts';
import type { RecordsStore } from '../stores/records/records-store.ts';
import { SqlSecurityStore } from '../stores/records/sql-security-store.ts';
import { AuditService } from './audit.service.ts';
import { AuthService } from './auth.service.ts';
import { presenceWhereabouts } from './command.service.ts';
import { FileLinkDecisionLog, IdentityService } from './identity.service.ts';
import { IngestService } from './ingest.service.ts';
import { createLoop, readPushRulesFile, type Loop } from './loop.service.ts';
import { PresenceTraceService } from './trace.service.ts';
import { SYSTEM, UserService, type IssuedCredentials, type ScopeCheck } from './user.service.ts';

/** Where start-up progress goes. */
export interface StartReporter {
  /** A step begins (one line). */
  step(message: string): void;
  /** Progress within the current step; `total` 0 when unknown. */
  progress(label: string, done: number, total: number): void;
  /** A step was skipped or something is degraded, with why. */
  note(message: string): void;
}

/** A reporter that says nothing (tests, scripts). */
export const SILENT: StartReporter = { step: () => undefined, progress: () => undefined, note: () => undefined };

/** Everything a running Cordon holds. */
export interface Runtime {
  config: Config;
  records: RecordsStore;
  security: SqlSecurityStore;
  audit: AuditService;
  auth: AuthService;
  users: UserService;
  loop: Loop;
  /** The presence store, or null when it could not be opened (the loop still runs, untraced). */
  presence: PresenceStore | null;
  ingest: IngestService | null;
  /** Who is who: identity links with conflicts held back for an analyst; null without a presence store. */
  identity: IdentityService | null;
  /** The trace service once the index is built, else null. */
  tracer: PresenceTraceService | null;
  /** The jurisdiction tree, or null while none is imported. */
  scope(): Promise<ScopeCheck | null>;
  close(): Promise<void>;
}

export interface OpenOptions {
  reporter?: StartReporter;
  /** Open the presence store (the server does; user administration from the CLI does not). */
  presence?: boolean;
  /** Who holds the presence store (shown to a second process that finds it busy). */
  owner?: string;
}

/** Opens the stores and wires the services. Does not build the index or create demo data. */
export async function openRuntime(config: Config, opts: OpenOptions = {}): Promise<Runtime> {
  const reporter = opts.reporter ?? SILENT;
  reporter.step(`records store: ${config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'postgres (from CORDON_DATABASE_URL)'}`);
  const records = await openRecordsStore(config.databaseUrl);
  await records.init();
  const security = new SqlSecurityStore(records.connection);
  await security.init();

  let presence: PresenceStore | null = null;
  if (opts.presence !== false) {
    if (config.presenceUrl.startsWith('duckdb:')) {
      const file = config.presenceUrl.slice('duckdb:'.length);
      reporter.step(`presence store: ${file}`);
      presence = await DuckDbPresenceStore.open(file, { owner: opts.owner ?? 'cordon serve' });
    } else {
      // Loaded only when configured, so an embedded deployment never loads the ClickHouse client.
      const { ClickHousePresenceStore } = await import('../stores/presence/clickhouse/clickhouse-presence-store.ts');
      reporter.step('presence store: ClickHouse (from CORDON_PRESENCE_URL)');
      presence = await ClickHousePresenceStore.open(config.presenceUrl);
    }
    await presence.init();
  }

  const ingest = presence
    ? new IngestService(presence, { timeZone: config.timeZone, rejectsDir: path.join(config.dataDir, 'rejects') }, openDuckDbScratch)
    : null;
  const rt: Runtime = {
    config,
    records,
    security,
    audit: null as unknown as AuditService,
    auth: null as unknown as AuthService,
    users: null as unknown as UserService,
    loop: null as unknown as Loop,
    presence,
    ingest,
    identity: presence ? new IdentityService(presence, new FileLinkDecisionLog(path.join(config.dataDir, 'identity-decisions.jsonl'))) : null,
    tracer: null,
    scope: async () => {
      const tree: JurisdictionTree = await rt.loop.jurisdictions.tree();
      return tree.size ? tree : null;
    },
    close: async () => {
      await presence?.close();
      await records.close();
    },
  };
  // The loop traces through whatever tracer is current: none until the index is built.
  const tracerProxy = {
    trace: (req: Parameters<PresenceTraceService['trace']>[0]) => {
      if (!rt.tracer) throw new Error('the trace index is not built yet: try again in a moment');
      return rt.tracer.trace(req);
    },
    // Until the index is built nobody's recent places are known there: the store's bounded read serves.
    recentPlaces: async (people: readonly (readonly string[])[], before: number, limit: number) =>
      (rt.tracer ? rt.tracer.recentPlaces(people, before, limit) : people.map(() => ({ places: [], from: 0, to: 0 }))),
  };
  rt.loop = createLoop({
    store: records,
    ...(config.pushRulesFile ? { rules: readPushRulesFile(config.pushRulesFile) } : {}),
    tracer: presence ? tracerProxy : null,
    ...(presence ? { whereabouts: presenceWhereabouts(presence) } : {}),
    identity: rt.identity,
  });
  rt.audit = new AuditService(security);
  rt.auth = new AuthService(security, rt.audit);
  rt.users = new UserService(security, rt.auth, rt.audit, rt.scope);
  return rt;
}

/** True when the data folder holds nothing yet: no presences, no jurisdictions, no users. */
export async function isFirstStart(rt: Runtime): Promise<boolean> {
  const users = await rt.security.listUsers();
  const tree = await rt.loop.jurisdictions.tree();
  const stats = rt.presence ? await rt.presence.stats() : null;
  return users.length === 0 && tree.size === 0 && (stats === null || stats.presences === 0);
}

/** Generates the demo city into DATA/demo-city (unless a complete one is there) and loads it. */
export async function loadDemoCity(rt: Runtime, reporter: StartReporter): Promise<void> {
  const { config } = rt;
  const dir = path.join(config.dataDir, 'demo-city');
  const done = path.join(dir, 'truth.json');
  if (!fs.existsSync(done)) {
    reporter.step(`generating the demo city: ${config.demoPeople.toLocaleString('en')} people × ${config.demoDays} days from ${config.demoStart} into ${dir}`);
    const summary = await generateCity({
      seed: 1,
      people: config.demoPeople,
      days: config.demoDays,
      start: config.demoStart,
      out: dir,
      timeZone: config.timeZone,
      onProgress: (p) => reporter.progress('people', p.peopleDone, p.people),
    });
    reporter.note(`generated ${summary.presences.toLocaleString('en')} presences in ${summary.seconds.toFixed(1)} s`);
  } else {
    reporter.note(`using the demo city already generated in ${dir}`);
  }
  const geo = path.join(dir, 'jurisdictions.geojson');
  if (fs.existsSync(geo)) {
    reporter.step('importing jurisdictions');
    const r = await rt.loop.jurisdictions.importFile({ userId: 'system', role: 'system', jurisdiction: ALL_JURISDICTIONS }, geo);
    reporter.note(`imported ${r.imported} jurisdictions (${Object.entries(r.byLevel).map(([k, v]) => `${v} ${k}`).join(', ')})`);
  } else {
    reporter.note(`skipped jurisdictions: ${geo} is missing`);
  }
  if (!rt.ingest) {
    reporter.note('skipped ingest: no presence store is open');
    return;
  }
  for (const entry of rt.ingest.planFolder(dir)) {
    if (entry.skipped) continue;
    const name = path.basename(entry.file);
    reporter.step(`ingesting ${name}`);
    const s = await rt.ingest.ingestFile(entry.file, { onProgress: (p) => reporter.progress(`${name} ${p.phase}`, p.done, p.total) });
    reporter.note(
      `${name}: ${s.rowsRead.toLocaleString('en')} read, ${s.accepted.toLocaleString('en')} stored, ${s.duplicates.toLocaleString('en')} duplicates, ${s.rejected.toLocaleString('en')} rejected` +
        (s.rejectsPath ? ` (rejects: ${s.rejectsPath})` : ''),
    );
  }
  await rt.presence?.bulk?.checkpoint();
}

/** Builds the trace index from the presence store (with progress) and keeps it current with ingests. */
export async function startTracer(rt: Runtime, reporter: StartReporter): Promise<void> {
  if (!rt.presence) {
    reporter.note('skipped the trace index: no presence store is open');
    return;
  }
  reporter.step('building the trace index');
  rt.tracer = await PresenceTraceService.start({
    store: rt.presence,
    // Group people by resolved identity, so a conflicting link never merges two people silently.
    ...(rt.identity ? { identity: rt.identity } : {}),
    timeZone: rt.config.timeZone,
    onProgress: (done, total, phase) => reporter.progress(`index ${phase}`, done, total ?? 0),
  });
  if (rt.ingest) rt.tracer.follow(rt.ingest, (err) => reporter.note(`index update failed: ${err.message}`));
  const b = rt.tracer.build;
  if (b) reporter.note(`indexed ${b.rows.toLocaleString('en')} presences in ${b.seconds.toFixed(1)} s (${b.bytesPerPresence.toFixed(1)} bytes each)`);
}

/** One demo user and where they sit. */
export interface DemoUser extends IssuedCredentials {
  role: Role;
}

/** Picks a unit for each demo role: the whole city for the centre, 骆驼 precinct for the officer, its district for health and quarantine. */
function demoUnits(tree: JurisdictionTree | null): Record<Role, string> {
  const root = tree && tree.size ? tree.root : ALL_JURISDICTIONS;
  const nodes = tree ? tree.nodes() : [];
  const precinct = nodes.find((n) => n.level === 'precinct' && n.name.includes('骆驼')) ?? nodes.find((n) => n.level === 'precinct');
  const district = precinct?.parent ?? nodes.find((n) => n.level === 'district')?.code ?? root;
  return {
    admin: root,
    auditor: root,
    commander: root,
    analyst: root,
    precinct_officer: precinct?.code ?? root,
    health_liaison: district,
    quarantine_staff: district,
  };
}

const DEMO_NAMES: Record<Role, string> = {
  admin: 'admin',
  auditor: 'auditor',
  commander: 'commander',
  analyst: 'analyst',
  precinct_officer: 'officer',
  health_liaison: 'liaison',
  quarantine_staff: 'quarantine',
};

/** Creates one demo user per role (only when there are no users at all). Their secrets are returned once. */
export async function createDemoUsers(rt: Runtime): Promise<DemoUser[]> {
  if ((await rt.users.count()) > 0) return [];
  const tree = await rt.loop.jurisdictions.tree();
  const units = demoUnits(tree);
  const out: DemoUser[] = [];
  for (const role of Object.keys(DEMO_NAMES) as Role[]) {
    const issued = await rt.users.create(SYSTEM, {
      username: DEMO_NAMES[role],
      displayName: `Demo ${DEMO_NAMES[role]}`,
      role,
      jurisdiction: units[role],
    });
    out.push({ ...issued, role });
  }
  return out;
}

/** The whole start: open, load the demo on a first start, build the index, create demo users. */
export async function startCordon(config: Config, reporter: StartReporter = SILENT): Promise<{ runtime: Runtime; demoUsers: DemoUser[] }> {
  const rt = await openRuntime(config, { reporter, presence: true });
  try {
    if (config.mode === 'demo' && (await isFirstStart(rt))) {
      reporter.step('first start with an empty data folder: loading the demo city');
      await loadDemoCity(rt, reporter);
    } else if (config.mode === 'demo' && (await rt.loop.jurisdictions.tree()).size === 0) {
      // A new records store beside presences already loaded (e.g. switched to PostgreSQL): it still needs the units.
      const geo = path.join(config.dataDir, 'demo-city', 'jurisdictions.geojson');
      if (fs.existsSync(geo)) {
        reporter.step('importing the demo city\'s jurisdictions into the new records store');
        await rt.loop.jurisdictions.importFile({ userId: 'system', role: 'system', jurisdiction: ALL_JURISDICTIONS }, geo);
      }
    }
    await startTracer(rt, reporter);
    const demoUsers = config.mode === 'demo' ? await createDemoUsers(rt) : [];
    return { runtime: rt, demoUsers };
  } catch (err) {
    await rt.close();
    throw err;
  }
}
