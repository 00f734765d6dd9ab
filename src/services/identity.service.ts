/**
 * @module Identity resolution as a use case: builds the identity graph from the presence store's
 * links and the analysts' decisions, answers "who is this identifier", lists conflicts, and records
 * the settling of a conflict (who, when, why) in an append-only decision log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { IdentityGraph, linkKey, type IdentityConflict, type LinkDecision, type LinkEdge, type Resolution } from '../domain/identity.ts';
import { idKey as toIdKey, parseIdKey } from '../domain/formats.ts';
import type { PresenceStore } from '../stores/presence/presence-store.ts';

/** One analyst's decision on a link, as recorded. */
export interface LinkDecisionRecord {
  link: string;
  decision: LinkDecision;
  /** Who decided (a user name or id). */
  by: string;
  reason: string;
  /** UTC ISO time of the decision. */
  at: string;
}

/** Where decisions on links are kept. Append-only: a later decision on the same link supersedes an earlier one. */
export interface LinkDecisionLog {
  /** Every decision ever recorded, oldest first. */
  all(): Promise<LinkDecisionRecord[]>;
  /** Appends one decision durably. */
  append(record: LinkDecisionRecord): Promise<void>;
}

/** A decision log in a JSON Lines file (in the data folder): small, append-only, readable by an auditor. */
export class FileLinkDecisionLog implements LinkDecisionLog {
  constructor(private readonly file: string) {}

  async all(): Promise<LinkDecisionRecord[]> {
    if (!fs.existsSync(this.file)) return [];
    const text = await fs.promises.readFile(this.file, 'utf8');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l, i) => {
        try {
          return JSON.parse(l) as LinkDecisionRecord;
        } catch {
          throw new Error(`${this.file}: line ${i + 1} is not a JSON decision record`);
        }
      });
  }

  async append(record: LinkDecisionRecord): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const fh = await fs.promises.open(this.file, 'a');
    try {
      await fh.appendFile(JSON.stringify(record) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

/** Resolves identifiers to people. Call `refresh()` after identity links were ingested. */
export class IdentityService {
  private graph: IdentityGraph | undefined;

  constructor(
    private readonly store: PresenceStore,
    private readonly decisions: LinkDecisionLog,
  ) {}

  /** Rebuilds the graph from the stored links and the recorded decisions. */
  async refresh(): Promise<void> {
    const edges: LinkEdge[] = [];
    for await (const chunk of this.store.identityLinks()) {
      for (const l of chunk) {
        const e: LinkEdge = { a: toIdKey(l.aKind, l.aValue), b: toIdKey(l.bKind, l.bValue) };
        if (l.source !== undefined) e.source = l.source;
        edges.push(e);
      }
    }
    const latest = new Map<string, LinkDecision>();
    for (const d of await this.decisions.all()) latest.set(d.link, d.decision);
    this.graph = new IdentityGraph(edges, latest);
  }

  private async current(): Promise<IdentityGraph> {
    if (!this.graph) await this.refresh();
    return this.graph!;
  }

  /** The person `kind:value` belongs to: person key, every identifier, conflicts. Throws on a malformed key. */
  async resolve(idKey: string): Promise<Resolution> {
    const { kind, value } = parseIdKey(idKey);
    return (await this.current()).resolve(toIdKey(kind, value));
  }

  /**
   * Every person with several identifiers, as `kind:value` lists, conflicts held back and decisions
   * applied: what a tracer should group by instead of merging every raw link.
   */
  async personGroups(): Promise<string[][]> {
    return [...(await this.current()).groups()];
  }

  /** Links held back because they would join two ID cards (or passports), awaiting an analyst. */
  async conflicts(): Promise<IdentityConflict[]> {
    return (await this.current()).conflicts();
  }

  /**
   * Settles a link: `accept` joins its two sides even across ID cards, `reject` ignores it. The
   * decision is recorded and returned (so the caller can audit it), and the graph is rebuilt.
   */
  async settle(link: string, decision: LinkDecision, by: string, reason: string): Promise<LinkDecisionRecord> {
    const parts = link.split('|');
    if (parts.length !== 2) throw new Error(`link "${link}" must be KIND:VALUE|KIND:VALUE as listed by \`cordon identity conflicts\``);
    const a = parseIdKey(parts[0]);
    const b = parseIdKey(parts[1]);
    const key = linkKey(toIdKey(a.kind, a.value), toIdKey(b.kind, b.value));
    const graph = await this.current();
    const known = graph.conflicts().some((c) => c.link === key) || (await this.linkExists(key));
    if (!known) throw new Error(`no identity link ${key} is stored`);
    if (!by.trim()) throw new Error('a decision needs the name of who made it');
    if (!reason.trim()) throw new Error('a decision needs a reason');
    const record: LinkDecisionRecord = { link: key, decision, by, reason, at: new Date().toISOString() };
    await this.decisions.append(record);
    await this.refresh();
    return record;
  }

  /** Every decision recorded, oldest first. */
  async decisionHistory(): Promise<LinkDecisionRecord[]> {
    return this.decisions.all();
  }

  private async linkExists(key: string): Promise<boolean> {
    for await (const chunk of this.store.identityLinks()) {
      if (chunk.some((l) => linkKey(toIdKey(l.aKind, l.aValue), toIdKey(l.bKind, l.bValue)) === key)) return true;
    }
    return false;
  }
}
