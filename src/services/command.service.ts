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
import type { TraceResult, TraceService } from '../trace/types.ts';
import { TraceRequestError } from '../trace/window.ts';
import type {
  CommandEventRecord, CommandFilter, CommandRecord, LeadRecord, RecordsOps, RecordsStore,
} from '../stores/records/records-store.ts';
import type { EventBus, LoopEvent } from './events.ts';
import { ConflictError, LoopInputError, NotFoundError, type JurisdictionService } from './jurisdiction.service.ts';

/** A new record id: time-ordered (so lists sort by creation) and unguessable. */
export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${crypto.randomBytes(5).toString('hex')}`;
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
   * `seenAt[i]`, when given, lists places (`kind:id`) where person i is already known to have been,
   * latest first (a trace's evidence): their last known location is taken from these before any read
   * of the person's presences, which on a large store is a scan.
   */
  locate(
    people: readonly (readonly string[])[],
    seenAt?: readonly (readonly string[] | undefined)[],
    recent?: RecentPlaces,
  ): Promise<(Location | null)[]>;
}

/**
 * Places (`kind:id`) where a person was recently, latest first, from a source faster than reading their
 * presences from the store (the tracer's in-memory index); an empty list when it knows none.
 */
export type RecentPlaces = (ids: readonly string[]) => Promise<string[]>;

/**
 * Recent places from a tracer: the person's own trajectory over the lookback window ending now, which
 * the tracer reads from its in-memory index instead of scanning the presence store.
 */
export function tracerRecentPlaces(tracer: TraceService, now: () => Date): RecentPlaces {
  return async (ids) => {
    const at = now();
    let result: TraceResult;
    try {
      result = await tracer.trace({ id: ids[0], onset: at.toISOString().slice(0, 10), degree: 1, now: at.getTime() });
    } catch (err) {
      // A person the tracer cannot take (e.g. an identifier kind it does not read) is left to the store.
      if (err instanceof TraceRequestError) return [];
      throw err;
    }
    const latestFirst = [...result.trajectory].sort((a, b) => (a.end < b.end ? 1 : a.end > b.end ? -1 : 0));
    return [...new Set(latestFirst.map((p) => p.place))];
  };
}

/** How many of a person's most recent places are tried for one with a position. */
const RECENT_PLACES = 20;

/** A place's location when it has one (an explicit jurisdiction or coordinates). */
function placeLocation(pl: PlaceRecord | undefined): Location | null {
  if (!pl || !(pl.jurisdiction || (pl.lat !== undefined && pl.lon !== undefined))) return null;
  return { basis: 'last_seen', jurisdiction: pl.jurisdiction, lat: pl.lat, lon: pl.lon };
}

/**
 * Whereabouts from the presence store: people.csv residence, else the latest known place with a
 * position — from the caller's `seenAt` places when given, else from the person's presences. At most
 * four reads for the whole batch, however many people; none of the person's presences when every
 * unplaced person comes with places.
 */
export function presenceWhereabouts(presence: PresenceStore): Whereabouts {
  return {
    async locate(people, seenAt, recent) {
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
      // Still unplaced (e.g. seen only on a metro run, which has no position): their recent places from
      // the faster source, one person at a time — few people get here.
      if (recent) {
        const lists = await Promise.all(people.map(async (ids, i) => (out[i] || !ids.length ? [] : (await recent(ids)).slice(0, RECENT_PLACES))));
        await byHint(lists);
      }
      const unplaced = people.flatMap((ids, i) => (out[i] ? [] : ids));
      if (!unplaced.length) return out;
      // Last known location of everyone without a residence, in one read of their presences.
      const seen = await presence.presencesOf([...new Set(unplaced)], 0, 2 ** 32 - 1);
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
      return out;
    },
  };
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
