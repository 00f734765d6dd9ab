/**
 * @module Routes of the closed loop: jurisdictions, cases (with trace and export, purpose-bound and
 * audited), leads, commands (inbox, accept, start, transfer, feedback, history) and the dashboard.
 * Each parses, calls the loop's service with the logged-in principal (scope is enforced there), and
 * formats with person references and masked identifiers.
 */
import fs from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CASE_CLASSIFICATIONS } from '../../domain/case.ts';
import { COMMAND_STATES, type CommandState } from '../../domain/command.ts';
import { FEEDBACK_OUTCOMES } from '../../domain/feedback.ts';
import type { Loop } from '../../services/loop.service.ts';
import type { CaseTraceOutcome } from '../../services/case.service.ts';
import type { LeadRecord } from '../../stores/records/records-store.ts';
import type { TraceService } from '../../trace/types.ts';
import { caseOut, commandOut, exposureOut, leadOut, traceOut } from '../format.ts';
import { guard, principalOf } from '../http.ts';
import { ReadCache } from '../read-cache.ts';
import type { PersonRefCodec } from '../person-ref.ts';
import { checkedPurposeProperties, errorSchema, idParam } from '../schemas.ts';
import type { RouteContext, RouteGroup } from '../server.ts';

export interface LoopRouteDeps {
  loop: Loop;
  /** The tracer for purpose-bound trace reads; null when no presence store is open. */
  tracer: () => TraceService | null;
  refs: PersonRefCodec;
  /** Coordinates of places by `kind:id`, so a trajectory can be drawn as a path; absent without a presence store. */
  placeCoordinates?: (placeKeys: readonly string[]) => Promise<Map<string, { lat: number; lon: number }>>;
  /** A GeoJSON file of roads for the basemap (the demo city has one); absent or missing = no roads. */
  roadsFile?: string;
  /**
   * A cheap counter that changes when another process commits to the records store (SQLite's
   * `PRAGMA data_version`), so cached inboxes notice writes the bus does not carry; absent, cached
   * answers live `INBOX_TTL_MS` at most.
   */
  externalChanges?: () => Promise<number>;
}

/** How long a cached inbox answer may live when no event says it changed. */
export const INBOX_TTL_MS = 10_000;
/** How long a chain's worked-out lead list is shared by the page requests of one chain graph. */
export const CHAIN_LEADS_TTL_MS = 5_000;

const dateString = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' } as const;
const idKeyList = {
  type: 'array',
  minItems: 1,
  maxItems: 20,
  items: { type: 'string', minLength: 3, maxLength: 120, description: 'KIND:VALUE, e.g. phone:13800000000' },
} as const;
const versionProp = { version: { type: 'integer', minimum: 1, description: 'the version you saw (refused if it changed since)' } } as const;

function traceOutcomeOut(t: CaseTraceOutcome | null): Record<string, unknown> | null {
  if (!t) return null;
  return { contacts: t.contacts, exposures: t.recorded.exposures, byDisposition: t.recorded.byDisposition, newLeads: t.recorded.newLeads.length, commands: t.recorded.commands, window: t.window };
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function loopRoutes(deps: LoopRouteDeps): RouteGroup {
  return (app: FastifyInstance, ctx: RouteContext) => {
    const { loop, refs } = deps;
    const { auth, audit } = ctx;
    // Inboxes are read far more often than commands change: answers are cached per scope and query,
    // dropped when a loop event concerns a unit in that scope, when another process committed (the
    // probe), and after INBOX_TTL_MS in any case.
    const inboxes = new ReadCache(INBOX_TTL_MS);
    let probedAt = 0;
    let version: number | null = null;
    const probe = async (): Promise<void> => {
      if (!deps.externalChanges || Date.now() - probedAt < 200) return;
      probedAt = Date.now();
      const v = await deps.externalChanges();
      if (version !== null && v !== version) inboxes.clear();
      version = v;
    };
    let tree: Awaited<ReturnType<RouteContext['scope']>> = null;
    // The chain graph asks for a chain's leads page by page, several pages at once: the chain and its
    // leads are worked out once per scope and case, shared by those requests for a few seconds, and
    // dropped on any loop event (each request is still checked for its purpose and audited).
    const chainLeadLists = new Map<string, { at: number; value: Promise<{ cases: number; leads: LeadRecord[] }> }>();
    loop.bus.subscribe(() => chainLeadLists.clear());
    loop.bus.subscribe((e) => {
      const t = tree;
      if (!t || !e.jurisdictions.length) inboxes.clear();
      else inboxes.drop((scope) => e.jurisdictions.some((j) => t.inScope(scope, j)));
    });

    // ---- jurisdictions
    app.get('/api/jurisdictions', {
      preHandler: guard(auth, 'jurisdiction:read'),
      schema: { tags: ['jurisdictions'], summary: 'The jurisdiction tree within my subtree (without polygons)' },
    }, async (req) => ({ jurisdictions: await loop.jurisdictions.list(principalOf(req)) }));

    app.get('/api/map/roads', {
      preHandler: guard(auth, 'jurisdiction:read'),
      schema: { tags: ['jurisdictions'], summary: 'Roads for the basemap as a GeoJSON FeatureCollection (empty when none are loaded)' },
    }, async () => {
      if (!deps.roadsFile || !fs.existsSync(deps.roadsFile)) return { type: 'FeatureCollection', features: [] };
      return JSON.parse(await fs.promises.readFile(deps.roadsFile, 'utf8')) as unknown;
    });

    app.get('/api/jurisdictions/geojson', {
      preHandler: guard(auth, 'jurisdiction:read'),
      schema: { tags: ['jurisdictions'], summary: 'My subtree as a GeoJSON FeatureCollection (polygons for the map)' },
    }, async (req) => {
      const list = await loop.jurisdictions.list(principalOf(req), { geometry: true });
      return {
        type: 'FeatureCollection',
        features: list.map((j) => ({
          type: 'Feature',
          geometry: j.geometry,
          properties: { code: j.code, name: j.name, name_en: j.nameEn, level: j.level, parent: j.parent },
        })),
      };
    });

    // ---- cases
    app.get<{ Querystring: { classification?: 'suspected' | 'confirmed' | 'asymptomatic'; loopClosed?: boolean; limit: number; offset: number } }>('/api/cases', {
      preHandler: guard(auth, 'case:read'),
      schema: {
        tags: ['cases'],
        summary: 'Cases in my subtree, oldest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            classification: { type: 'string', enum: [...CASE_CLASSIFICATIONS] },
            loopClosed: { type: 'boolean' },
            limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
      },
    }, async (req) => {
      const cases = await loop.cases.list(principalOf(req), req.query);
      return { cases: cases.map((c) => caseOut(refs, c)) };
    });

    app.post<{ Body: { ids: string[]; classification: string; onset?: string; sampled?: string; isolatedAt?: string; jurisdiction?: string; sourceCaseId?: string; trace?: boolean; reason?: string } }>('/api/cases', {
      preHandler: guard(auth, 'case:write'),
      schema: {
        tags: ['cases'],
        summary: 'Add a case; by default it is traced at once and its leads pushed',
        body: {
          type: 'object',
          required: ['ids', 'classification'],
          additionalProperties: false,
          properties: {
            ids: idKeyList,
            classification: { type: 'string', enum: [...CASE_CLASSIFICATIONS] },
            onset: dateString,
            sampled: dateString,
            isolatedAt: { type: 'string', format: 'date-time' },
            jurisdiction: { type: 'string', maxLength: 64 },
            sourceCaseId: { type: 'string', maxLength: 100 },
            trace: { type: 'boolean', default: true },
            reason: { type: 'string', maxLength: 1000 },
          },
        },
        response: { 400: errorSchema },
      },
    }, async (req, reply) => {
      const p = principalOf(req);
      const { case: kase, trace } = await loop.cases.add(p, req.body);
      await audit.record(p, 'case.create', 'ok', { caseId: kase.id, subject: `case:${kase.id}`, detail: { traced: trace !== null } });
      return reply.code(201).send({ case: caseOut(refs, kase), trace: traceOutcomeOut(trace) });
    });

    app.get<{ Params: { id: string } }>('/api/cases/:id', {
      preHandler: guard(auth, 'case:read'),
      schema: { tags: ['cases'], params: idParam, response: { 404: errorSchema } },
    }, async (req) => {
      const { case: kase, events } = await loop.cases.history(principalOf(req), req.params.id);
      return { case: caseOut(refs, kase), events };
    });

    app.get<{ Params: { id: string } }>('/api/cases/:id/chain', {
      preHandler: guard(auth, 'case:read'),
      schema: { tags: ['cases'], summary: 'The transmission chain through a case (within my subtree)', params: idParam },
    }, async (req) => ({ chain: await loop.status.chain(principalOf(req), req.params.id) }));

    app.post<{ Params: { id: string }; Body: { classification?: string; onset?: string; sampled?: string; reason?: string; trace?: boolean } }>('/api/cases/:id/confirm', {
      preHandler: guard(auth, 'case:write'),
      schema: {
        tags: ['cases'],
        summary: 'Reclassify (confirm) a case; by default it is traced again and new leads pushed',
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            classification: { type: 'string', enum: [...CASE_CLASSIFICATIONS], default: 'confirmed' },
            onset: dateString,
            sampled: dateString,
            reason: { type: 'string', maxLength: 1000 },
            trace: { type: 'boolean', default: true },
          },
        },
      },
    }, async (req) => {
      const { case: kase, trace } = await loop.cases.confirm(principalOf(req), req.params.id, req.body);
      return { case: caseOut(refs, kase), trace: traceOutcomeOut(trace) };
    });

    // The purpose of the trace routes is checked in the handler, not by the schema (which only bounds it):
    // a read refused for want of a purpose (or case) answers 400 and is written to the audit trail as
    // denied, before anything about the case is looked up.
    app.post<{ Params: { id: string }; Body: { purpose?: string } }>('/api/cases/:id/trace', {
      preHandler: guard(auth, 'trace:run'),
      schema: {
        tags: ['cases'],
        summary: 'Trace a case again and push any new leads (purpose required, audited, refusals too)',
        params: idParam,
        body: { type: 'object', additionalProperties: false, properties: { purpose: checkedPurposeProperties.purpose } },
      },
    }, async (req) => {
      const p = principalOf(req);
      const checked = await audit.requirePurpose(p, 'case.retrace', { purpose: req.body?.purpose, caseId: req.params.id }, `case:${req.params.id}`, { where: 'body' });
      await loop.cases.get(p, req.params.id);
      await audit.record(p, 'case.retrace', 'ok', { caseId: req.params.id, purpose: checked.purpose, subject: `case:${req.params.id}` });
      return { trace: traceOutcomeOut(await loop.cases.retrace(p, req.params.id)) };
    });

    // ---- trace reads (purpose-bound: refusals audited, reads audited before the data is returned)
    const runTrace = async (
      req: FastifyRequest,
      input: { caseId?: string; purpose?: string },
      where: 'body' | 'querystring',
      action: string,
      opts: { rules?: string; degree?: 1 | 2 },
    ) => {
      const p = principalOf(req);
      // No purpose, no read — not even whether the case exists; the refusal is on the trail.
      const { purpose, caseId } = await audit.requirePurpose(p, action, input, input.caseId ? `case:${input.caseId}` : null, { where });
      const kase = await loop.cases.get(p, caseId as string);
      const tracer = deps.tracer();
      if (!tracer) throw Object.assign(new Error('no presence data is loaded: tracing is unavailable'), { statusCode: 503 });
      await audit.record(p, action, 'ok', { caseId, purpose, subject: `person:${refs.encode(kase.personKey)}`, detail: { rules: opts.rules ?? null, degree: opts.degree ?? 2 } });
      return tracer.trace({
        id: kase.ids[0] ?? kase.personKey,
        ...(kase.onset ? { onset: kase.onset } : {}),
        ...(kase.sampled ? { sampled: kase.sampled } : {}),
        ...(kase.isolatedAt ? { isolated: kase.isolatedAt } : {}),
        asymptomatic: kase.classification === 'asymptomatic' || !kase.onset,
        ...(opts.rules ? { rules: opts.rules } : {}),
        degree: opts.degree ?? 2,
      });
    };

    app.post<{ Body: { caseId?: string; purpose?: string; rules?: string; degree?: 1 | 2 } }>('/api/trace', {
      preHandler: guard(auth, 'trace:run'),
      schema: {
        tags: ['trace'],
        summary: 'A case\'s trajectory and contacts with evidence (purpose and case required; audited, refusals too)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...checkedPurposeProperties,
            rules: { type: 'string', enum: ['v8', 'v9'] },
            degree: { type: 'integer', enum: [1, 2] },
          },
        },
        response: { 400: errorSchema, 404: errorSchema },
      },
    }, async (req) => {
      const out = traceOut(refs, await runTrace(req, req.body ?? {}, 'body', 'trace.read', req.body ?? {})) as { trajectory: { place: string; lat?: number; lon?: number }[] };
      // Places carry coordinates in the places file, not in presences: add them so the path can be drawn.
      if (deps.placeCoordinates && out.trajectory.length) {
        const coords = await deps.placeCoordinates([...new Set(out.trajectory.map((t) => t.place))]);
        out.trajectory = out.trajectory.map((t) => ({ ...t, ...coords.get(t.place) }));
      }
      return out;
    });

    app.get<{ Params: { id: string }; Querystring: { purpose?: string; rules?: string; degree?: 1 | 2 } }>('/api/cases/:id/contacts.csv', {
      preHandler: guard(auth, 'trace:run'),
      schema: {
        tags: ['trace'],
        summary: 'Export a case\'s contact list as CSV (purpose required; audited, refusals too)',
        params: idParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { purpose: checkedPurposeProperties.purpose, rules: { type: 'string', enum: ['v8', 'v9'] }, degree: { type: 'integer', enum: [1, 2] } },
        },
      },
    }, async (req, reply) => {
      const result = await runTrace(req, { caseId: req.params.id, purpose: req.query.purpose }, 'querystring', 'trace.export', req.query);
      const out = traceOut(refs, result) as { contacts: { personRef: string; ids: string[]; degree: number; category: string; viaPersonRef: string | null; firstExposure: string; risk: { score: number } }[] };
      const lines = ['person_ref,ids,degree,category,via_person_ref,first_exposure,risk'];
      for (const c of out.contacts) {
        lines.push([c.personRef, c.ids.join(' '), c.degree, c.category, c.viaPersonRef, c.firstExposure, c.risk.score].map(csvCell).join(','));
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="contacts-${req.params.id.replace(/[^A-Za-z0-9_-]/g, '_')}.csv"`)
        .send(lines.join('\n') + '\n');
    });

    // ---- leads (a lead list is a contact list: purpose and case required, every read audited)
    app.get<{ Querystring: { caseId?: string; purpose?: string; chain?: boolean; status?: 'open' | 'closed'; limit: number; offset: number } }>('/api/leads', {
      preHandler: guard(auth, 'lead:read'),
      schema: {
        tags: ['leads'],
        summary: 'A case\'s leads (its contact list) in my subtree, or with chain=true those of every case in its transmission chain (purpose and case required; audited)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...checkedPurposeProperties,
            chain: { type: 'boolean', default: false, description: 'the leads of every case in the chain through caseId, for the chain graph' },
            status: { type: 'string', enum: ['open', 'closed'] },
            limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: { 400: errorSchema, 404: errorSchema },
      },
    }, async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const subject = q.caseId ? `case:${q.caseId}` : null;
      const { purpose, caseId } = await audit.requirePurpose(p, 'leads.read', q, subject, { where: 'querystring' });
      const id = caseId as string;
      let leads: LeadRecord[];
      let cases = 1;
      if (q.chain) {
        const key = JSON.stringify([p.role, p.jurisdiction, id, q.status ?? null]);
        let hit = chainLeadLists.get(key);
        if (!hit || Date.now() - hit.at >= CHAIN_LEADS_TTL_MS) {
          const value = (async () => {
            // Only the chain's cases, not every lead in the subtree: the minimum the graph needs.
            const inChain = new Set((await loop.status.chain(p, id)).map((c) => c.caseId));
            const all = await loop.leads.list(p, q.status ? { status: q.status } : {});
            return { cases: inChain.size, leads: all.filter((l) => inChain.has(l.caseId)) };
          })();
          if (chainLeadLists.size >= 100) chainLeadLists.clear();
          hit = { at: Date.now(), value };
          chainLeadLists.set(key, hit);
          // A refusal (a case out of scope) must not be served from the cache.
          value.catch(() => { if (chainLeadLists.get(key)?.value === value) chainLeadLists.delete(key); });
        }
        const chain = await hit.value;
        cases = chain.cases;
        leads = chain.leads.slice(q.offset, q.offset + q.limit);
      } else {
        leads = await loop.leads.list(p, { caseId: id, ...(q.status ? { status: q.status } : {}), limit: q.limit, offset: q.offset });
      }
      await audit.record(p, 'leads.read', 'ok', { caseId: id, purpose, subject, detail: { count: leads.length, status: q.status ?? null, chain: q.chain ?? false, cases } });
      return { leads: leads.map((l) => leadOut(refs, l)) };
    });

    app.get<{ Params: { id: string }; Querystring: { purpose?: string; caseId?: string } }>('/api/leads/:id', {
      preHandler: guard(auth, 'lead:read'),
      schema: {
        tags: ['leads'],
        summary: 'A lead with the exposures that put the person on it (purpose required; audited with the lead\'s case)',
        params: idParam,
        querystring: { type: 'object', additionalProperties: false, properties: checkedPurposeProperties },
        response: { 400: errorSchema, 404: errorSchema },
      },
    }, async (req) => {
      const p = principalOf(req);
      const subject = `lead:${req.params.id}`;
      // The purpose first: no purpose, no read (not even whether the lead exists).
      const { purpose, caseId } = await audit.requirePurpose(p, 'lead.read', req.query, subject, { where: 'querystring', caseRequired: false });
      const lead = await loop.leads.get(p, req.params.id);
      const exposures = await loop.leads.exposures(p, req.params.id);
      await audit.record(p, 'lead.read', 'ok', { caseId: caseId ?? lead.caseId, purpose, subject, detail: { exposures: exposures.length } });
      return { lead: leadOut(refs, lead), exposures: exposures.map((e) => exposureOut(refs, e)) };
    });

    // ---- commands
    app.get<{ Querystring: { state?: CommandState[]; overdue?: boolean; jurisdiction?: string; limit: number; offset: number } }>('/api/commands', {
      preHandler: guard(auth, 'command:read'),
      schema: {
        tags: ['commands'],
        summary: 'My inbox: commands of my subtree (or escalated to it), by deadline',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'array', items: { type: 'string', enum: [...COMMAND_STATES] } },
            overdue: { type: 'boolean' },
            jurisdiction: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
      },
    }, async (req, reply) => {
      const q = req.query;
      const p = principalOf(req);
      const key = JSON.stringify([p.jurisdiction, q.state ?? null, q.overdue ?? null, q.jurisdiction ?? null, q.limit, q.offset]);
      await probe();
      const body = await inboxes.get(key, p.jurisdiction, async () => {
        tree = await ctx.scope();
        const { total, commands } = await loop.commands.inbox(p, {
          ...(q.state ? { states: q.state } : {}),
          ...(q.overdue !== undefined ? { overdue: q.overdue } : {}),
          ...(q.jurisdiction ? { jurisdiction: q.jurisdiction } : {}),
          limit: q.limit,
          offset: q.offset,
        });
        return JSON.stringify({ total, commands: commands.map((c) => commandOut(refs, c)) });
      });
      return reply.type('application/json; charset=utf-8').send(body);
    });

    app.get<{ Params: { id: string } }>('/api/commands/:id', {
      preHandler: guard(auth, 'command:read'),
      schema: { tags: ['commands'], params: idParam, response: { 404: errorSchema } },
    }, async (req) => ({ command: commandOut(refs, await loop.commands.get(principalOf(req), req.params.id)) }));

    app.get<{ Params: { id: string } }>('/api/commands/:id/history', {
      preHandler: guard(auth, 'command:read'),
      schema: { tags: ['commands'], summary: 'Every transition: who, when, what, why', params: idParam, response: { 404: errorSchema } },
    }, async (req) => {
      const p = principalOf(req);
      const { command, events } = await loop.commands.history(p, req.params.id);
      const feedback = await loop.feedback.list(p, req.params.id);
      return { command: commandOut(refs, command), events, feedback };
    });

    for (const action of ['accept', 'start'] as const) {
      app.post<{ Params: { id: string }; Body: { version?: number } }>(`/api/commands/:id/${action}`, {
        preHandler: guard(auth, 'command:act'),
        schema: {
          tags: ['commands'],
          summary: action === 'accept' ? 'Accept a pushed command' : 'Start work on an accepted command',
          params: idParam,
          body: { type: 'object', additionalProperties: false, properties: versionProp },
        },
      }, async (req) => ({ command: commandOut(refs, await loop.commands[action](principalOf(req), req.params.id, req.body?.version)) }));
    }

    app.post<{ Params: { id: string }; Body: { to: string; reason: string; version?: number } }>('/api/commands/:id/transfer', {
      preHandler: guard(auth, 'command:act'),
      schema: {
        tags: ['commands'],
        summary: 'Transfer a command to another jurisdiction, with a reason',
        params: idParam,
        body: {
          type: 'object',
          required: ['to', 'reason'],
          additionalProperties: false,
          properties: { to: { type: 'string', minLength: 1, maxLength: 64 }, reason: { type: 'string', minLength: 2, maxLength: 1000 }, ...versionProp },
        },
      },
    }, async (req) => ({ command: commandOut(refs, await loop.commands.transfer(principalOf(req), req.params.id, req.body.to, req.body.reason, req.body.version)) }));

    app.post<{ Params: { id: string }; Body: { outcome: string; temperature?: number; notes?: string; namedContacts?: string[]; correctedIds?: string[]; onset?: string; sampled?: string } }>('/api/commands/:id/feedback', {
      preHandler: guard(auth, 'command:act'),
      schema: {
        tags: ['commands'],
        summary: 'File feedback; a positive test makes a new case and traces it, a wrong identity reissues the lead',
        params: idParam,
        body: {
          type: 'object',
          required: ['outcome'],
          additionalProperties: false,
          properties: {
            outcome: { type: 'string', enum: [...FEEDBACK_OUTCOMES] },
            temperature: { type: 'number', minimum: 30, maximum: 45 },
            notes: { type: 'string', maxLength: 4000 },
            namedContacts: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 3, maxLength: 120 } },
            correctedIds: { type: 'array', maxItems: 20, items: { type: 'string', minLength: 3, maxLength: 120 } },
            onset: dateString,
            sampled: dateString,
          },
        },
        response: { 400: errorSchema, 404: errorSchema, 409: errorSchema },
      },
    }, async (req) => {
      const r = await loop.feedback.file(principalOf(req), req.params.id, req.body);
      return {
        feedback: r.feedback,
        lead: leadOut(refs, r.lead),
        newCase: r.newCase ? caseOut(refs, r.newCase) : null,
        newLeads: r.newLeads,
        closedLoops: r.closedLoops,
      };
    });

    // ---- dashboard
    app.get('/api/dashboard', {
      preHandler: guard(auth, 'dashboard:read'),
      schema: { tags: ['dashboard'], summary: 'Cases by status, open leads, overdue per unit, people under control, epidemic curve by onset' },
    }, async (req) => {
      const p = principalOf(req);
      const summary = await loop.status.summary(p);
      const curve = new Map<string, number>();
      for (const c of await loop.cases.list(p)) {
        const day = c.onset ?? c.sampled ?? c.createdAt.slice(0, 10);
        curve.set(day, (curve.get(day) ?? 0) + 1);
      }
      return { ...summary, epidemicCurve: [...curve.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([date, cases]) => ({ date, cases })) };
    });
  };
}
