/**
 * @module The trace use case, shared by the server and the CLI: a tracer over the in-memory index
 * built from the presence store (kept current as ingest commits batches), or over the store itself
 * when it can answer the reads on its side (`capabilities.traceInStore`, e.g. ClickHouse) or when a
 * one-off trace does not justify building an index.
 */
import type { PresenceChunk, PresenceStore } from '../stores/presence/presence-store.ts';
import type { CandidateSource, IdentityGroups } from '../trace/candidate-source.ts';
import { LinkedIdentityGroups } from '../trace/identity-groups.ts';
import { buildIndex, LiveIndex, type BuildStats } from '../trace/index/build-index.ts';
import { IndexCandidateSource } from '../trace/index/index-source.ts';
import type { BuildProgress } from '../trace/index/presence-index.ts';
import { CachedDictionary, StoreCandidateSource } from '../trace/store-source.ts';
import { Tracer } from '../trace/tracer.ts';
import type { TraceRequest, TraceResult, TraceService } from '../trace/types.ts';
import type { RecentPresences } from './command.service.ts';

export type { TraceRequest, TraceResult, TraceService } from '../trace/types.ts';

/** Windows of `recentPlaces`, in days before its `before`: the narrowest first. */
const RECENT_WINDOW_DAYS = [3, 28];

/** How the service finds presences. */
export type TraceMode =
  /** Build the in-memory index at start (embedded default for a long-running server). */
  | 'index'
  /** Ask the store for each read (one-off traces; stores that push the query down). */
  | 'store';

export interface TraceServiceOptions {
  store: PresenceStore;
  timeZone: string;
  /** Default `index`, or `store` when the store says `traceInStore`. */
  mode?: TraceMode;
  /** A store-specific source (e.g. ClickHouse's pushdown); default: the port's own reads. */
  storeSource?: CandidateSource;
  /** Rule set when a request names none (default v9). */
  defaultRules?: string;
  onProgress?: BuildProgress;
  /**
   * Identity resolution (`IdentityService`): people with conflicting links held back. Without it
   * every stored link is merged.
   */
  identity?: PersonGroupSource;
}

/** Where the people come from: the part of the identity service the tracer needs. */
export interface PersonGroupSource {
  /** Every person with several identifiers, as `kind:value` lists. */
  personGroups(): Promise<string[][]>;
}

async function loadGroups(opts: TraceServiceOptions, dict: CachedDictionary): Promise<IdentityGroups> {
  if (opts.identity) return LinkedIdentityGroups.fromPersonGroups(await opts.identity.personGroups(), dict);
  return LinkedIdentityGroups.fromLinks(opts.store.identityLinks(), dict);
}

/** Something that announces committed presence batches (the ingest service). */
export interface CommitFeed {
  onPresencesCommitted(listener: (chunk: PresenceChunk) => void): () => void;
}

/** The trace service: construct with `PresenceTraceService.start`. */
export class PresenceTraceService implements TraceService {
  private tracer: Tracer;

  private constructor(
    private readonly opts: TraceServiceOptions,
    private readonly source: CandidateSource,
    private readonly dict: CachedDictionary,
    private groups: IdentityGroups,
    /** The live index, when the service runs on one. */
    readonly live: LiveIndex | undefined,
    /** What the index build measured, when there is an index. */
    readonly build: BuildStats | undefined,
  ) {
    this.tracer = this.makeTracer();
  }

  private makeTracer(): Tracer {
    return new Tracer({ source: this.source, dict: this.dict, groups: this.groups, timeZone: this.opts.timeZone, defaultRules: this.opts.defaultRules });
  }

  /** Opens the service: reads identity links, and builds the index unless the reads go to the store. */
  static async start(opts: TraceServiceOptions): Promise<PresenceTraceService> {
    const dict = new CachedDictionary(opts.store);
    const groups = await loadGroups(opts, dict);
    const mode = opts.mode ?? (opts.store.capabilities.traceInStore ? 'store' : 'index');
    if (mode === 'store') {
      // A store that answers the contact reads itself (ClickHouse) offers its own source; others are read row by row.
      const pushdown = opts.store.capabilities.traceInStore ? (opts.store as { candidateSource?: () => CandidateSource }).candidateSource?.() : undefined;
      const source = opts.storeSource ?? pushdown ?? new StoreCandidateSource(opts.store, dict, opts.store.capabilities.name);
      return new PresenceTraceService(opts, source, dict, groups, undefined, undefined);
    }
    const { index, stats } = await buildIndex(opts.store, { onProgress: opts.onProgress });
    const live = new LiveIndex(index, opts.store);
    return new PresenceTraceService(opts, new IndexCandidateSource(index), dict, groups, live, stats);
  }

  /** Name of the source the traces read from (`index`, `duckdb`, `clickhouse`). */
  get sourceName(): string {
    return this.source.name;
  }

  trace(req: TraceRequest): Promise<TraceResult> {
    return this.tracer.trace(req);
  }

  /**
   * For each person (`kind:value` identifiers, completed by identity resolution), the places of their
   * latest presences that began before `before` (epoch ms), latest first, each once, at most `limit`,
   * and the span those presences cover: a read of their trajectory alone, no contact search. The last few days first, a wider window (a few
   * weeks, never the whole history) only while fewer than `limit` places are found; on the index each
   * read is a binary search per identifier.
   */
  async recentPlaces(people: readonly (readonly string[])[], before: number, limit: number): Promise<RecentPresences[]> {
    const keys = [...new Set(people.flat())];
    const dictIds = keys.length ? await this.dict.identifierIds(keys) : new Map<string, number>();
    const to = Math.floor(before / 1000);
    const perPerson: { places: number[]; from: number; to: number }[] = [];
    for (const ids of people) {
      const idents = new Set<number>();
      for (const k of ids) {
        const d = dictIds.get(k);
        if (d !== undefined) for (const g of this.groups.groupOf(d)) idents.add(g);
      }
      let rows: Awaited<ReturnType<CandidateSource['presencesOf']>> = [];
      if (idents.size) {
        for (const days of RECENT_WINDOW_DAYS) {
          rows = await this.source.presencesOf([...idents], Math.max(0, to - days * 86_400), to);
          if (new Set(rows.map((r) => r.place)).size >= limit) break;
        }
      }
      rows.sort((a, b) => b.start - a.start || b.end - a.end || a.place - b.place);
      const places: number[] = [];
      let from = 0;
      let until = 0;
      for (const r of rows) {
        if (!places.includes(r.place)) {
          if (places.length === limit) break;
          places.push(r.place);
        }
        from = r.start;
        until = Math.max(until, r.end);
      }
      perPerson.push({ places, from, to: until });
    }
    const placeIds = [...new Set(perPerson.flatMap((p) => p.places))];
    const names = new Map<number, string>();
    const placeKeys = placeIds.length ? await this.dict.placeKeys(placeIds) : [];
    placeIds.forEach((id, i) => names.set(id, placeKeys[i]));
    return perPerson.map((p) => ({ places: p.places.map((id) => names.get(id) ?? '').filter((k) => k !== ''), from: p.from, to: p.to }));
  }

  /**
   * Keeps the index current with an ingest feed: each committed batch becomes visible to traces.
   * Returns the unsubscribe function. Without an index there is nothing to keep current.
   */
  follow(feed: CommitFeed, onError: (err: Error) => void): () => void {
    const live = this.live;
    if (!live) return () => undefined;
    return feed.onPresencesCommitted((chunk) => {
      live.onPresencesCommitted(chunk).catch((err: unknown) => onError(err instanceof Error ? err : new Error(String(err))));
    });
  }

  /** Re-reads the people (after identity links were ingested or an analyst settled a conflict; refresh the identity service first). */
  async refreshIdentities(): Promise<void> {
    this.groups = await loadGroups(this.opts, this.dict);
    this.tracer = this.makeTracer();
  }
}
