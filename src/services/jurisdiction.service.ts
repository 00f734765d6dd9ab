/**
 * @module Jurisdictions as a use case: importing the tree from GeoJSON (the synthetic city's
 * `jurisdictions.geojson`, or a real one with the same properties), the cached tree every other loop
 * service checks scope against, and the errors the loop services share.
 */
import fs from 'node:fs';
import {
  JURISDICTION_LEVELS, JurisdictionTree, JurisdictionTreeError, type Actor, type Geometry, type JurisdictionLevel,
  type JurisdictionNode,
} from '../domain/jurisdiction.ts';
import type { JurisdictionRecord, RecordsStore } from '../stores/records/records-store.ts';
import type { EventBus } from './events.ts';

/** Something does not exist — or exists outside the actor's jurisdiction, which must look the same. */
export class NotFoundError extends Error {
  constructor(what: string, id: string) {
    super(`${what} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

/** The request is malformed or breaks a rule; the message says which field and why. */
export class LoopInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoopInputError';
  }
}

/** Someone else changed the record first, or it already exists. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** What one actor may see: a subtree of the jurisdiction tree. */
export class Scope {
  constructor(
    readonly tree: JurisdictionTree,
    readonly actor: Actor,
  ) {
    if (!tree.isWhole(actor.jurisdiction) && !tree.has(actor.jurisdiction)) {
      // A user bound to a unit that no longer exists sees nothing rather than everything.
      this.codes = [];
    } else {
      this.codes = tree.isWhole(actor.jurisdiction) ? undefined : tree.subtree(actor.jurisdiction);
    }
  }

  /** The codes to filter store queries by; undefined when the actor sees the whole tree. */
  readonly codes: string[] | undefined;

  /** True when a record of this unit (or of no unit) is visible to the actor. */
  sees(code: string | null | undefined): boolean {
    if (this.codes === undefined) return true;
    return this.tree.inScope(this.actor.jurisdiction, code);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isPosition(p: unknown): p is [number, number] {
  return Array.isArray(p) && p.length >= 2 && typeof p[0] === 'number' && typeof p[1] === 'number' &&
    Math.abs(p[0]) <= 180 && Math.abs(p[1]) <= 90;
}

function geometryProblem(g: unknown): string | null {
  if (!isRecord(g)) return 'geometry must be a Polygon or MultiPolygon';
  const ringsOk = (poly: unknown): boolean =>
    Array.isArray(poly) && poly.length > 0 && poly.every((ring) => Array.isArray(ring) && ring.length >= 4 && ring.every(isPosition));
  if (g.type === 'Polygon') return ringsOk(g.coordinates) ? null : 'Polygon coordinates must be rings of at least 4 [lon, lat] positions';
  if (g.type === 'MultiPolygon') {
    return Array.isArray(g.coordinates) && g.coordinates.length > 0 && g.coordinates.every(ringsOk)
      ? null
      : 'MultiPolygon coordinates must be polygons of rings of at least 4 [lon, lat] positions';
  }
  return `geometry type "${String(g.type)}" is not Polygon or MultiPolygon`;
}

/**
 * Parses a GeoJSON FeatureCollection of jurisdictions (properties code, name, name_en, level, parent).
 * Every problem is reported with the file, the feature's index and the field; nothing is imported
 * unless all features are valid and form one tree.
 */
export function parseJurisdictionGeoJson(text: string, file: string): JurisdictionRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new LoopInputError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!isRecord(doc) || doc.type !== 'FeatureCollection' || !Array.isArray(doc.features)) {
    throw new LoopInputError(`${file}: expected a GeoJSON FeatureCollection with a features list`);
  }
  const problems: string[] = [];
  const out: JurisdictionRecord[] = [];
  doc.features.forEach((f: unknown, i: number) => {
    const at = `${file}: features[${i}]`;
    if (!isRecord(f) || !isRecord(f.properties)) return void problems.push(`${at}: a Feature with properties is expected`);
    const p = f.properties;
    const text = (k: string, required: boolean): string | null => {
      const v = p[k];
      if (v === undefined || v === null || v === '') {
        if (required) problems.push(`${at}.properties.${k}: missing`);
        return null;
      }
      if (typeof v !== 'string' && typeof v !== 'number') {
        problems.push(`${at}.properties.${k}: must be text`);
        return null;
      }
      return String(v).trim();
    };
    const code = text('code', true);
    const name = text('name', true);
    const level = text('level', true);
    if (level && !(JURISDICTION_LEVELS as readonly string[]).includes(level)) {
      problems.push(`${at}.properties.level: "${level}" is not one of ${JURISDICTION_LEVELS.join(', ')}`);
    }
    let geometry: Geometry | null = null;
    if (f.geometry !== null && f.geometry !== undefined) {
      const bad = geometryProblem(f.geometry);
      if (bad) problems.push(`${at}.geometry: ${bad}`);
      else geometry = f.geometry as Geometry;
    }
    if (code && name && level) {
      out.push({ code, name, nameEn: text('name_en', false), level: level as JurisdictionLevel, parent: text('parent', false), geometry });
    }
  });
  if (!problems.length) {
    try {
      new JurisdictionTree(out);
    } catch (err) {
      if (err instanceof JurisdictionTreeError) problems.push(`${file}: ${err.message}`);
      else throw err;
    }
  }
  if (problems.length) {
    const shown = problems.slice(0, 20);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
    throw new LoopInputError(`invalid jurisdictions:\n${shown.map((p) => `  - ${p}`).join('\n')}`);
  }
  return out;
}

export class JurisdictionService {
  private cached: JurisdictionTree | null = null;

  constructor(
    private readonly store: RecordsStore,
    private readonly bus: EventBus,
  ) {}

  /** The current tree (loaded once, refreshed after an import). */
  async tree(): Promise<JurisdictionTree> {
    if (!this.cached) this.cached = new JurisdictionTree(await this.store.listJurisdictions());
    return this.cached;
  }

  /** The actor's scope on the current tree. */
  async scope(actor: Actor): Promise<Scope> {
    return new Scope(await this.tree(), actor);
  }

  /**
   * Imports (inserts or updates) the jurisdictions of a GeoJSON file. Only an actor who sees the whole
   * tree may do it. The merged tree (stored plus imported) must stay one valid tree.
   */
  async importGeoJson(actor: Actor, text: string, file: string): Promise<{ imported: number; byLevel: Record<string, number> }> {
    const current = await this.tree();
    if (current.size && !current.isWhole(actor.jurisdiction)) {
      throw new LoopInputError('only a user of the city bureau (the whole tree) may import jurisdictions');
    }
    const rows = parseJurisdictionGeoJson(text, file);
    const merged = new Map<string, JurisdictionNode>(current.nodes().map((n) => [n.code, n]));
    for (const r of rows) merged.set(r.code, r);
    try {
      new JurisdictionTree([...merged.values()]);
    } catch (err) {
      throw new LoopInputError(`${file}: together with the stored jurisdictions: ${(err as Error).message}`);
    }
    await this.store.transaction((tx) => tx.upsertJurisdictions(rows));
    this.cached = null;
    const byLevel: Record<string, number> = {};
    for (const r of rows) byLevel[r.level] = (byLevel[r.level] ?? 0) + 1;
    this.bus.publish({ type: 'jurisdictions.imported', at: new Date().toISOString(), jurisdictions: [], count: rows.length });
    return { imported: rows.length, byLevel };
  }

  /** Reads a GeoJSON file and imports it. */
  async importFile(actor: Actor, file: string): Promise<{ imported: number; byLevel: Record<string, number> }> {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new LoopInputError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return this.importGeoJson(actor, text, file);
  }

  /** The jurisdictions the actor sees (their subtree), without polygons unless asked. */
  async list(actor: Actor, opts: { geometry?: boolean } = {}): Promise<JurisdictionRecord[]> {
    const scope = await this.scope(actor);
    const tree = scope.tree;
    return tree
      .nodes()
      .filter((n) => scope.sees(n.code))
      .sort((a, b) => a.code.localeCompare(b.code))
      .map((n) => ({ ...n, geometry: opts.geometry ? n.geometry : null }));
  }
}
