/**
 * @module The server of a running Cordon: `buildServer` with every route group wired to the runtime's
 * services, the loop's events and the server's own (upload progress) as live events, and the status
 * page's counts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { placeKey } from '../domain/formats.ts';
import type { PresenceStore } from '../stores/presence/presence-store.ts';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import type { Runtime } from '../services/bootstrap.service.ts';
import type { SqlConnection } from '../stores/records/sql-connection.ts';
import { LocalEventSource } from './live-events.ts';
import { loopEventSource } from './loop-events.ts';
import { PersonRefCodec } from './person-ref.ts';
import { ingestRoutes } from './routes/ingest.routes.ts';
import { loopRoutes } from './routes/loop.routes.ts';
import { peopleRoutes } from './routes/people.routes.ts';
import { buildServer, type CordonServer } from './server.ts';

/** The built UI, relative to this file: web/dist at the repository root. */
export const DEFAULT_WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

/**
 * SQLite's commit counter of other connections (the CLI writing beside the server), or undefined on a
 * backend without one; PostgreSQL deployments rely on the inbox cache's time-to-live instead.
 */
function sqliteDataVersion(conn: SqlConnection): (() => Promise<number>) | undefined {
  if (conn.capabilities.dialect !== 'sqlite') return undefined;
  return async () => Number((await conn.query<{ data_version: number }>('PRAGMA data_version'))[0]?.data_version ?? 0);
}

export interface CordonServerOptions {
  log?: Writable | boolean;
  webDist?: string | null;
  secureCookies?: boolean;
}

/** Looks up place coordinates in the presence store's places. */
function placeCoordinates(store: PresenceStore): (keys: readonly string[]) => Promise<Map<string, { lat: number; lon: number }>> {
  return async (keys) => {
    const out = new Map<string, { lat: number; lon: number }>();
    for (const p of await store.places(keys)) {
      if (typeof p.lat === 'number' && typeof p.lon === 'number') out.set(placeKey(p.placeKind, p.placeId), { lat: p.lat, lon: p.lon });
    }
    return out;
  };
}

export async function buildCordonServer(rt: Runtime, opts: CordonServerOptions = {}): Promise<CordonServer> {
  const refs = new PersonRefCodec(rt.config.secret);
  const local = new LocalEventSource();
  return buildServer({
    auth: rt.auth,
    users: rt.users,
    audit: rt.audit,
    scope: rt.scope,
    events: [loopEventSource(rt.loop.bus), local],
    log: opts.log ?? true,
    webDist: opts.webDist === undefined ? DEFAULT_WEB_DIST : opts.webDist,
    secureCookies: opts.secureCookies ?? false,
    routes: [
      loopRoutes({
        loop: rt.loop,
        tracer: () => rt.tracer,
        refs,
        externalChanges: sqliteDataVersion(rt.records.connection),
        roadsFile: ['roads.geojson', 'demo-city/roads.geojson'].map((f) => path.join(rt.config.dataDir, f)).find((f) => fs.existsSync(f)),
        ...(rt.presence ? { placeCoordinates: placeCoordinates(rt.presence) } : {}),
      }),
      peopleRoutes({ records: rt.records, loop: rt.loop, presence: rt.presence, refs }),
      ingestRoutes({
        ingest: rt.ingest,
        dataDir: rt.config.dataDir,
        events: local,
        // New identity links change who is who: the tracer re-reads them (presences reach the index by themselves).
        afterIngest: async (kind) => {
          if (kind === 'identity_links') {
            await rt.identity?.refresh();
            await rt.tracer?.refreshIdentities();
          }
        },
      }),
    ],
    status: async () => {
      const stats = rt.presence ? await rt.presence.stats() : null;
      const summary = await rt.loop.status.summary({ userId: 'system', role: 'system', jurisdiction: '*' });
      const cases = summary.cases.confirmed + summary.cases.suspected + summary.cases.asymptomatic;
      return {
        presences: stats?.presences ?? null,
        'people (identifiers)': stats?.identifiers ?? null,
        'people (registered)': stats?.people ?? null,
        places: stats?.places ?? null,
        cases,
        'open leads': summary.openLeads,
        'open commands': summary.openCommands,
        'trace index': rt.tracer ? `${rt.tracer.sourceName}` : 'not built',
      };
    },
  });
}
