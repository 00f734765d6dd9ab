/**
 * @module Routes for people: search by a whole identifier, a person's page (purpose-bound, audited), and
 * the audited reveal of identifiers. People are named by opaque references; identifiers are masked unless revealed.
 */
import type { FastifyInstance } from 'fastify';
import type { Loop } from '../../services/loop.service.ts';
import type { PresenceStore } from '../../stores/presence/presence-store.ts';
import type { RecordsStore } from '../../stores/records/records-store.ts';
import { caseOut, commandOut, exposureOut, leadOut } from '../format.ts';
import { guard, principalOf } from '../http.ts';
import { PeopleDirectory } from '../people-directory.ts';
import type { PersonRefCodec } from '../person-ref.ts';
import { checkedPurposeProperties, errorSchema } from '../schemas.ts';
import type { RouteContext, RouteGroup } from '../server.ts';

export interface PeopleRouteDeps {
  records: RecordsStore;
  loop: Loop;
  presence: PresenceStore | null;
  refs: PersonRefCodec;
}

const refParam = {
  type: 'object',
  required: ['ref'],
  properties: { ref: { type: 'string', pattern: '^p_[A-Za-z0-9_-]{20,400}$', description: 'opaque person reference' } },
} as const;

export function peopleRoutes(deps: PeopleRouteDeps): RouteGroup {
  return (app: FastifyInstance, ctx: RouteContext) => {
    const { refs } = deps;
    const people = new PeopleDirectory(deps.records, deps.loop, deps.presence, ctx.audit);

    app.get<{ Querystring: { q: string } }>('/api/people', {
      preHandler: guard(ctx.auth, 'people:read'),
      schema: {
        tags: ['people'],
        summary: 'Find people by a whole identifier (KIND:VALUE or the value), within my subtree; identifiers masked',
        querystring: { type: 'object', required: ['q'], additionalProperties: false, properties: { q: { type: 'string', minLength: 1, maxLength: 120 } } },
        response: { 400: errorSchema },
      },
    }, async (req) => {
      const found = await people.search(principalOf(req), req.query.q);
      return {
        people: found.map((p) => ({ ...refs.person(p.personKey, p.ids), status: p.status?.status ?? null, jurisdiction: p.jurisdiction })),
      };
    });

    app.get<{ Params: { ref: string }; Querystring: { purpose?: string; caseId?: string } }>('/api/people/:ref', {
      preHandler: guard(ctx.auth, 'people:read'),
      schema: {
        tags: ['people'],
        summary: 'A person: status and its history, case, leads, commands, exposures (identifiers masked; purpose required, and the case when opened from one; audited)',
        params: refParam,
        querystring: { type: 'object', additionalProperties: false, properties: checkedPurposeProperties },
        response: { 400: errorSchema, 404: errorSchema },
      },
    }, async (req) => {
      const p = principalOf(req);
      const subject = `person:${req.params.ref}`;
      // The page shows exposures with their evidence (where and when the person was): no purpose, no
      // read — checked before anything about the person is looked up. A page opened from search may
      // have no case yet; the case it was opened from is named when there is one.
      const { purpose, caseId } = await ctx.audit.requirePurpose(p, 'person.read', req.query, subject, { where: 'querystring', caseRequired: false });
      const v = await people.get(p, refs.decode(req.params.ref));
      await ctx.audit.record(p, 'person.read', 'ok', {
        caseId: caseId ?? v.case?.id ?? null,
        purpose,
        subject,
        detail: { exposures: v.exposures.length, caseFrom: caseId ? 'request' : v.case ? 'person' : null },
      });
      return {
        ...refs.person(v.personKey, v.ids),
        jurisdiction: v.jurisdiction,
        status: v.status ? { status: v.status.status, since: v.status.since, updatedAt: v.status.updatedAt, caseId: v.status.caseId } : null,
        statusHistory: v.history.map((h) => ({ status: h.status, since: h.since, jurisdiction: h.jurisdiction, caseId: h.caseId })),
        registered: v.registered.map((r) => ({ jurisdiction: r.jurisdiction ?? null, hasName: !!r.name, hasAddress: !!r.address })),
        case: v.case ? caseOut(refs, v.case) : null,
        leads: v.leads.map((l) => leadOut(refs, l)),
        commands: v.commands.map((c) => commandOut(refs, c)),
        exposures: v.exposures.map((e) => exposureOut(refs, e)),
      };
    });

    app.post<{ Params: { ref: string }; Body: { purpose?: string; caseId?: string } }>('/api/people/:ref/reveal', {
      preHandler: guard(ctx.auth, 'people:reveal'),
      schema: {
        tags: ['people'],
        summary: 'Unmask a person\'s identifiers, name and address (purpose required; audited)',
        params: refParam,
        body: { type: 'object', additionalProperties: false, properties: checkedPurposeProperties },
        response: { 400: errorSchema, 404: errorSchema },
      },
    }, async (req) => {
      const p = principalOf(req);
      const subject = `person:${req.params.ref}`;
      // Checked here so that a reveal without a purpose is refused before any lookup, and on the trail.
      const why = await ctx.audit.requirePurpose(p, 'person.reveal', req.body, subject, { where: 'body', caseRequired: false });
      const r = await people.reveal(p, refs.decode(req.params.ref), subject, why);
      return { ids: r.ids, registered: r.registered.map((p) => ({ name: p.name ?? null, address: p.address ?? null, jurisdiction: p.jurisdiction ?? null })) };
    });
  };
}
