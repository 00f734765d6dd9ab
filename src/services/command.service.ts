/**
 * @module Commands as a use case: pushing a lead to the unit responsible (by residence, else last known
 * location, else the city bureau so nothing is dropped), the inbox of a unit, accepting, starting,
 * transferring and closing with a recorded event for every step, and the overdue sweep that escalates
 * late commands up the tree (the server runs it on a timer).
 */
import crypto from 'node:crypto';
import {
  dueEscalationLevel, InvalidTransitionError, transition, type CommandAction, type CommandState,
} from '../domain/command.ts';
import { parseIdKey, type PlaceRecord } from '../domain/formats.ts';
import type { Actor, JurisdictionTree } from '../domain/jurisdiction.ts';
import { deadlineOf, matchPushRule, type PushRuleSet } from '../domain/sla.ts';
import type { PresenceStore } from '../stores/presence/presence-store.ts';
import type {
  CommandEventRecord, CommandFilter, CommandRecord, LeadRecord, RecordsOps, RecordsStore,
} from '../stores/records/records-store.ts';
import type { EventBus, LoopEvent } from './events.ts';
import { ConflictError, LoopInputError, NotFoundError, type JurisdictionService } from './jurisdiction.service.ts';

let lastIdMs = 0;
let idSeq = 0;

/**
 * A new record id: ordered by creation within the process (so lists that sort by id, or by a time and
 * then the id, list records in the order they were made, run after run) and unguessable. The wall-clock
 * millisecond and a sequence number within it come first, the random part last: ids made in the same
 * millisecond do not fall into a random order.
 */
export function newId(prefix: string): string {
  const ms = Date.now();
  if (ms > lastIdMs) {
    lastIdMs = ms;
    idSeq = 0;
  } else if (++idSeq > 0xfffff) {
    // A million ids in one millisecond: borrow the next one, keeping the order.
    lastIdMs++;
    idSeq = 0;
  }
  return `${prefix}-${lastIdMs.toString(36)}${idSeq.toString(36).padStart(4, '0')}${crypto.randomBytes(5).toString('hex')}`;
}

/** Where a person is, as far as the data plane knows. */
export interface Location {
  /** A jurisdiction given explicitly in the data (people.csv, places.csv); wins over coordinates. */
  jurisdiction?: string;
  lat?: number;
  lon?: number;
  /** How it was found. */
  basis: 'residence' | 'last_seen';
}

/** Looks people up in the data plane: residence first, else where they were last seen. */
export interface Whereabouts {
  /**
   * For each person (their `kind:value` identifiers), their location, or null when nothing is known.
   * `opts.seenAt[i]`, when given, lists places (`kind:id`) where person i is already known to have
   * been, latest first (a trace's evidence): their last known location is taken from these before any
   * read of the person's presences. `opts.recent`, when given, lists the latest places of the people
   * still unplaced from a faster source than the store (the tracer's index). `opts.now` is the time the
   * location is wanted at (the loop's clock; default the wall clock): it bounds the read of presences.
   */
  locate(people: readonly (readonly string[])[], opts?: LocateOptions): Promise<(Location | null)[]>;
}

/** What a caller of `Whereabouts.locate` already knows. */
export interface LocateOptions {
  seenAt?: readonly (readonly string[] | undefined)[];
  recent?: RecentPlaces;
  now?: Date;
}

/** A person's latest presences as a faster source than the store knows them. */
export interface RecentPresences {
  /** Places (`kind:id`) of the latest presences, latest first, each once; empty when none is known. */
  places: string[];
  /** Epoch seconds: the earliest start and the latest end of those presences (0 and 0 when none). */
  from: number;
  to: number;
}

/**
 * For each person (their `kind:value` identifiers), their latest presences from a source faster than
 * reading them from the store (the tracer's in-memory index).
 */
export type RecentPlaces = (people: readonly (readonly string[])[]) => Promise<RecentPresences[]>;

/**
 * Reads people's latest presences alone — their trajectory, no contact search — from where the tracer
 * reads (its in-memory index). `PresenceTraceService` implements it.
 */
export interface RecentPlacesReader {
  /**
   * For each person (their `kind:value` identifiers, completed by identity resolution), their latest
   * presences that began before `before` (epoch milliseconds): their places, latest first, each once,
   * at most `limit`, and the time span they cover.
   */
  recentPlaces(people: readonly (readonly string[])[], before: number, limit: number): Promise<RecentPresences[]>;
}

/** How many of a person's most recent places are tried for one with a position. */
const RECENT_PLACES = 20;

/**
 * Recent places from a tracer that can read trajectories alone (`RecentPlacesReader`), as of the loop's
 * clock; undefined for a tracer that cannot (then the store's bounded read is the fallback).
 */
export function tracerRecentPlaces(tracer: object, now: () => Date): RecentPlaces | undefined {
  const reader = tracer as Partial<RecentPlacesReader>;
  if (typeof reader.recentPlaces !== 'function') return undefined;
  const read = reader.recentPlaces.bind(tracer);
  return (people) => read(people, now().getTime(), RECENT_PLACES);
}

/** A place's location when it has one (an explicit jurisdiction or coordinates). */
function placeLocation(pl: PlaceRecord | undefined): Location | null {
  if (!pl || !(pl.jurisdiction || (pl.lat !== undefined && pl.lon !== undefined))) return null;
  return { basis: 'last_seen', jurisdiction: pl.jurisdiction, lat: pl.lat, lon: pl.lon };
}

/**
 * The windows of the store's read of people's presences, in days before now: the most recent first,
 * wider only for the people still unplaced. Nobody's whole history is read — past the widest window a
 * lead goes to the case's unit.
 */
export const PRESENCE_READ_DAYS: readonly number[] = [3, 28];

export interface PresenceWhereaboutsOptions {
  /** Windows of the read of people's presences, in days before now, narrowest first (default PRESENCE_READ_DAYS). */
  windowsDays?: readonly number[];
}

/**
 * Whereabouts from the presence store: people.csv residence, else the latest known place with a
 * position — from the caller's `seenAt` places when given, else from the recent places of the faster
 * source, else from the person's presences in the store over the last few days (widening to a few
 * weeks for those still unplaced; never their whole history). A handful of reads for the whole batch,
 * however many people; none of the person's presences when every unplaced person comes with places.
 */
export function presenceWhereabouts(presence: PresenceStore, opts: PresenceWhereaboutsOptions = {}): Whereabouts {
  const windows = [...(opts.windowsDays ?? PRESENCE_READ_DAYS)].sort((a, b) => a - b);
  return {
    async locate(people, { seenAt, recent, now } = {}) {
      const all = [...new Set(people.flat())];
      const records = all.length ? await presence.people(all) : [];
      const byId = new Map<string, (typeof records)[number]>();
      for (const r of records) byId.set(`${r.idKind}:${r.idValue}`, r);
      const out: (Location | null)[] = people.map((ids) => {
        const home = ids.map((id) => byId.get(id)).find((r) => r && (r.jurisdiction || (r.lat !== undefined && r.lon !== undefined)));
        return home ? { basis: 'residence', jurisdiction: home.jurisdiction, lat: home.lat, lon: home.lon } : null;
      });
      // Places the caller already knows (a trace's evidence): one read of those places, no presence scan.
      const byHint = async (hinted: readonly (readonly string[])[]): Promise<void> => {
        const hintKeys = [...new Set(hinted.flat())];
        if (!hintKeys.length) return;
        const byPlace = new Map((await presence.places(hintKeys)).map((pl) => [`${pl.placeKind}:${pl.placeId}`, pl]));
        hinted.forEach((keys, i) => {
          for (const k of keys) {
            const loc = placeLocation(byPlace.get(k));
            if (loc) {
              out[i] = loc;
              return;
            }
          }
        });
      };
      await byHint(people.map((_, i) => (out[i] ? [] : (seenAt?.[i] ?? []).slice(0, RECENT_PLACES))));
      // Still unplaced (e.g. seen only on a metro run, which has no position): their latest places from
      // the faster source, in one call for the batch.
      const spans = new Map<number, RecentPresences>();
      if (recent) {
        const waiting = people.map((ids, i) => (out[i] || !ids.length ? -1 : i)).filter((i) => i >= 0);
        if (waiting.length) {
          const lists = await recent(waiting.map((i) => people[i]));
          const hinted: string[][] = people.map(() => []);
          waiting.forEach((i, k) => {
            const seen = lists[k];
            if (!seen?.places.length) return;
            hinted[i] = seen.places.slice(0, RECENT_PLACES);
            spans.set(i, seen);
          });
          await byHint(hinted);
        }
      }
      // Last known location of everyone still without one, from their presences in the store. A person
      // the faster source knows, but at places with no position, is read over the span of those latest
      // presences alone (the store may hold coordinates on the presences themselves); anyone else over
      // the most recent days first, a wider window only for those it leaves unplaced.
      for (const [i, span] of spans) {
        if (!out[i]) await locateFromPresences(presence, people, out, [...new Set(people[i])], span.from, span.to);
      }
      const to = Math.ceil((now ?? new Date()).getTime() / 1000);
      for (const days of windows) {
        const unplaced = people.flatMap((ids, i) => (out[i] || spans.has(i) ? [] : ids));
        if (!unplaced.length) break;
        await locateFromPresences(presence, people, out, [...new Set(unplaced)], Math.max(0, to - Math.round(days * 86_400)), to);
      }
      return out;
    },
  };
}

/** Places the people of `out` still unplaced from their presences in [from, to), latest first. */
async function locateFromPresences(
  presence: PresenceStore,
  people: readonly (readonly string[])[],
  out: (Location | null)[],
  unplaced: string[],
  from: number,
  to: number,
): Promise<void> {
  const seen = await presence.presencesOf(unplaced, from, to);
  const latest = new Map<string, (typeof seen)[number][]>();
  for (const p of seen) {
    const key = `${p.idKind}:${p.idValue}`;
    const list = latest.get(key) ?? [];
    list.push(p);
    latest.set(key, list);
  }
  const placeKeys = new Set<string>();
  const candidates = people.map((ids, i) => {
    if (out[i]) return [];
    // Latest first; the few most recent places are enough to find one with a position.
    const mine = ids.flatMap((id) => latest.get(id) ?? []).sort((a, b) => b.start - a.start).slice(0, RECENT_PLACES);
    for (const p of mine) placeKeys.add(`${p.placeKind}:${p.placeId}`);
    return mine;
  });
  const places = placeKeys.size ? await presence.places([...placeKeys]) : [];
  const byPlace = new Map(places.map((pl) => [`${pl.placeKind}:${pl.placeId}`, pl]));
  candidates.forEach((mine, i) => {
    for (const p of mine) {
      if (p.lat !== undefined && p.lon !== undefined) {
        out[i] = { basis: 'last_seen', lat: p.lat, lon: p.lon };
        return;
      }
      const loc = placeLocation(byPlace.get(`${p.placeKind}:${p.placeId}`));
      if (loc) {
        out[i] = loc;
        return;
      }
    }
  });
}

/** No data plane: every lead goes by the explicit unit or the case's unit. */
export const NO_WHEREABOUTS: Whereabouts = { locate: async (people) => people.map(() => null) };

/**
 * The acting unit for a location: the deepest unit containing it, but at least a precinct — a
 * community is an area, not a police unit, so its precinct receives the command.
 */
export function unitFor(tree: JurisdictionTree, loc: Location | null, fallback: string | null): { unit: string; basis: string } {
  let code = loc ? tree.assign(loc.jurisdiction, loc.lat ?? null, loc.lon ?? null) : null;
  let basis: string = loc?.basis ?? 'none';
  if (!code && fallback && tree.has(fallback)) {
    code = fallback;
    basis = 'case_unit';
  }
  if (!code) return { unit: tree.root, basis: 'unplaced' };
  if (tree.get(code)?.level === 'community') code = tree.parentOf(code) ?? code;
  return { unit: code, basis };
}

/** Returns a command's events and the bus events of one change. */
export interface CommandChange {
  command: CommandRecord;
  event: CommandEventRecord;
}

export class CommandService {
  constructor(
    private readonly store: RecordsStore,
    private readonly bus: EventBus,
    private readonly jurisdictions: JurisdictionService,
    private readonly rules: PushRuleSet,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Plans the push of an open lead to `unit` without writing: the rule for the lead's category gives
   * type, priority and deadline. Null when no rule matches (nothing is pushed). Batch callers insert
   * the returned command and event together with the lead.
   */
  planPush(actor: Actor, lead: LeadRecord, unit: string, why: string): { command: CommandRecord; event: CommandEventRecord; bus: LoopEvent } | null {
    const rule = matchPushRule(this.rules, lead);
    if (!rule) return null;
    const at = this.now().toISOString();
    const command: CommandRecord = {
      id: newId('K'), leadId: lead.id, caseId: lead.caseId, personKey: lead.personKey, type: rule.type,
      priority: rule.priority, jurisdiction: unit, state: 'pushed', deadline: deadlineOf(rule, at), overdue: false,
      escalationLevel: 0, escalatedTo: null, createdAt: at, updatedAt: at, version: 1,
    };
    const event: CommandEventRecord = {
      commandId: command.id, seq: 1, at, kind: 'pushed', actorUserId: actor.userId, actorRole: actor.role,
      actorJurisdiction: actor.jurisdiction, fromState: null, toState: 'pushed', fromJurisdiction: null, toJurisdiction: unit,
      reason: why, data: { rule: rule.id, ruleVersion: this.rules.version, description: rule.description },
    };
    return { command, event, bus: { type: 'command.changed', at, jurisdictions: [unit], commandId: command.id, kind: 'pushed', state: 'pushed', overdue: false } };
  }

  /** Pushes one open lead (already stored) inside the caller's transaction; null when no rule matches. */
  async pushInTx(tx: RecordsOps, actor: Actor, lead: LeadRecord, unit: string, why: string, events: LoopEvent[]): Promise<CommandRecord | null> {
    const plan = this.planPush(actor, lead, unit, why);
    if (!plan) return null;
    await tx.insertCommand(plan.command);
    await tx.appendCommandEvent(plan.event);
    events.push(plan.bus);
    return plan.command;
  }

  /**
   * Applies a state-machine action inside the caller's transaction, recording the event. `expectedVersion`
   * (from what the user saw) guards against acting on a stale view.
   */
  async actInTx(
    tx: RecordsOps,
    actor: Actor,
    cmd: CommandRecord,
    action: CommandAction,
    events: LoopEvent[],
    data: unknown = null,
  ): Promise<CommandChange> {
    const at = this.now().toISOString();
    const { next, event } = transition(cmd, action, at);
    if (!(await tx.updateCommand(next))) {
      throw new ConflictError(`command ${cmd.id} was changed by someone else; reload it and try again`);
    }
    const history = await tx.commandEvents(cmd.id);
    const record: CommandEventRecord = {
      commandId: cmd.id, seq: history.length + 1, at, kind: event.kind, actorUserId: actor.userId, actorRole: actor.role,
      actorJurisdiction: actor.jurisdiction, fromState: event.fromState, toState: event.toState,
      fromJurisdiction: event.fromJurisdiction, toJurisdiction: event.toJurisdiction, reason: event.reason, data,
    };
    await tx.appendCommandEvent(record);
    const concerned = [...new Set([next.jurisdiction, cmd.jurisdiction, next.escalatedTo].filter((c): c is string => !!c))];
    events.push({ type: 'command.changed', at, jurisdictions: concerned, commandId: cmd.id, kind: event.kind, state: next.state, overdue: next.overdue });
    return { command: next, event: record };
  }

  /** A command the actor may see (its unit or the unit it is escalated to is in their subtree), else NotFound. */
  async get(actor: Actor, id: string, ops: RecordsOps = this.store): Promise<CommandRecord> {
    const scope = await this.jurisdictions.scope(actor);
    const cmd = await ops.getCommand(id);
    if (!cmd || !(scope.sees(cmd.jurisdiction) || (cmd.escalatedTo !== null && scope.sees(cmd.escalatedTo)))) {
      throw new NotFoundError('command', id);
    }
    return cmd;
  }

  /** Accepts, starts, reopens or closes a command the actor sees. */
  async act(actor: Actor, id: string, action: Exclude<CommandAction, { kind: 'transfer' | 'escalate' }>, expectedVersion?: number): Promise<CommandRecord> {
    const events: LoopEvent[] = [];
    // The tree is loaded outside the transaction: inside it, only the transaction's operations may run.
    await this.jurisdictions.tree();
    const result = await this.store.transaction(async (tx) => {
      const cmd = await this.get(actor, id, tx);
      if (expectedVersion !== undefined && cmd.version !== expectedVersion) {
        throw new ConflictError(`command ${id} changed since you loaded it (version ${cmd.version}, you saw ${expectedVersion})`);
      }
      return (await this.actInTx(tx, actor, cmd, action, events)).command;
    });
    this.bus.publishAll(events);
    return result;
  }

  accept(actor: Actor, id: string, expectedVersion?: number): Promise<CommandRecord> {
    return this.act(actor, id, { kind: 'accept' }, expectedVersion);
  }

  start(actor: Actor, id: string, expectedVersion?: number): Promise<CommandRecord> {
    return this.act(actor, id, { kind: 'start' }, expectedVersion);
  }

  /** Transfers a command to another unit, with a reason (e.g. the person lives elsewhere). */
  async transfer(actor: Actor, id: string, to: string, reason: string, expectedVersion?: number): Promise<CommandRecord> {
    const tree = await this.jurisdictions.tree();
    if (!tree.has(to)) throw new LoopInputError(`transfer: jurisdiction "${to}" does not exist`);
    const events: LoopEvent[] = [];
    const result = await this.store.transaction(async (tx) => {
      const cmd = await this.get(actor, id, tx);
      if (expectedVersion !== undefined && cmd.version !== expectedVersion) {
        throw new ConflictError(`command ${id} changed since you loaded it (version ${cmd.version}, you saw ${expectedVersion})`);
      }
      const change = await this.actInTx(tx, actor, cmd, { kind: 'transfer', to, reason }, events);
      // The lead follows its command: the new unit is now responsible for the person.
      const lead = await tx.getLead(cmd.leadId);
      if (lead && lead.status === 'open') await tx.updateLead({ ...lead, jurisdiction: to });
      return change.command;
    });
    this.bus.publishAll(events);
    return result;
  }

  /** The actor's inbox: commands of their subtree (or escalated to it), by deadline. */
  async inbox(
    actor: Actor,
    opts: { states?: readonly CommandState[]; overdue?: boolean; jurisdiction?: string; limit?: number; offset?: number } = {},
  ): Promise<{ total: number; commands: CommandRecord[] }> {
    const scope = await this.jurisdictions.scope(actor);
    let codes = scope.codes;
    if (opts.jurisdiction) {
      // Narrowing to a unit outside the actor's subtree shows nothing, exactly like an unknown unit.
      codes = scope.sees(opts.jurisdiction) ? scope.tree.subtree(opts.jurisdiction) : [];
    }
    const filter: CommandFilter = {
      ...(codes ? { jurisdictions: codes } : {}),
      ...(opts.states ? { states: opts.states } : {}),
      ...(opts.overdue !== undefined ? { overdue: opts.overdue } : {}),
    };
    const [total, commands] = await Promise.all([
      this.store.countCommands(filter),
      this.store.listCommands({ ...filter, limit: Math.min(opts.limit ?? 100, 1000), offset: opts.offset ?? 0 }),
    ]);
    return { total, commands };
  }

  /** A command's full history (who, when, what, why). */
  async history(actor: Actor, id: string): Promise<{ command: CommandRecord; events: CommandEventRecord[] }> {
    const command = await this.get(actor, id);
    return { command, events: await this.store.commandEvents(id) };
  }

  /**
   * Marks open commands past their deadline overdue and escalates each to the next unit up, one level
   * per SLA window it stays open (at most the rule set's maximum). Idempotent: running it twice at the
   * same time changes nothing the second time.
   */
  async sweepOverdue(actor: Actor): Promise<{ overdue: number; escalated: number }> {
    const now = this.now().toISOString();
    const tree = await this.jurisdictions.tree();
    const late = await this.store.listCommands({ openDeadlineBefore: now });
    let escalated = 0;
    let overdue = 0;
    for (const stale of late) {
      const events: LoopEvent[] = [];
      try {
        const changed = await this.store.transaction(async (tx) => {
          let cmd = await tx.getCommand(stale.id);
          if (!cmd || cmd.state === 'closed') return false;
          const due = dueEscalationLevel(cmd, now, this.rules.maxEscalationLevels);
          let did = false;
          while (cmd.escalationLevel < due) {
            const from = cmd.escalatedTo ?? cmd.jurisdiction;
            const parent = tree.parentOf(from);
            if (!parent) break;
            cmd = (await this.actInTx(tx, actor, cmd, { kind: 'escalate', to: parent, reason: `overdue since ${cmd.deadline}` }, events)).command;
            escalated++;
            did = true;
          }
          if (!cmd.overdue) {
            // At the top of the tree there is no one to escalate to, but the command is still overdue.
            const next = { ...cmd, overdue: true, updatedAt: now, version: cmd.version + 1 };
            if (!(await tx.updateCommand(next))) throw new ConflictError(`command ${cmd.id} changed during the sweep`);
            events.push({ type: 'command.changed', at: now, jurisdictions: [cmd.jurisdiction], commandId: cmd.id, kind: 'escalated', state: cmd.state, overdue: true });
            did = true;
          }
          return did;
        });
        if (changed) overdue++;
      } catch (err) {
        // One command changed under the sweep: the next sweep takes it up again.
        if (!(err instanceof ConflictError || err instanceof InvalidTransitionError)) throw err;
      }
      this.bus.publishAll(events);
    }
    return { overdue, escalated };
  }

  /** Parses `kind:value` for messages; exported for the CLI. */
  static checkIdentifier(id: string): string {
    const { kind, value } = parseIdKey(id);
    return `${kind}:${value}`;
  }
}
