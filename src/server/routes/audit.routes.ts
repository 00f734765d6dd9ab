/**
 * @module Route for searching the audit trail (auditor, admin).
 */
import type { FastifyInstance } from 'fastify';
import type { AuditService } from '../../services/audit.service.ts';
import type { AuthService } from '../../services/auth.service.ts';
import type { AuditQuery } from '../../stores/records/security-store.ts';
import { guard, principalOf } from '../http.ts';

export function registerAuditRoutes(app: FastifyInstance, deps: { auth: AuthService; audit: AuditService }): void {
  app.get<{ Querystring: AuditQuery }>('/api/audit', {
    preHandler: guard(deps.auth, 'audit:read'),
    schema: {
      tags: ['audit'],
      summary: 'Search the audit trail, newest first',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          userId: { type: 'string', maxLength: 100 },
          username: { type: 'string', maxLength: 64 },
          action: { type: 'string', maxLength: 64 },
          caseId: { type: 'string', maxLength: 100 },
          outcome: { type: 'string', enum: ['ok', 'denied', 'failed'] },
          from: { type: 'string', format: 'date-time' },
          to: { type: 'string', format: 'date-time' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          offset: { type: 'integer', minimum: 0, default: 0 },
        },
      },
    },
  }, async (req) => {
    const q = { ...req.query };
    // Stored times are UTC ISO text: normalise bounds so text comparison orders them right.
    if (q.from) q.from = new Date(q.from).toISOString();
    if (q.to) q.to = new Date(q.to).toISOString();
    return deps.audit.search(principalOf(req), q);
  });
}
