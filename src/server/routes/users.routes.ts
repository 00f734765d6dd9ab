/**
 * @module Routes for administering users (admin only, within the admin's subtree).
 */
import type { FastifyInstance } from 'fastify';
import { ROLES } from '../../domain/roles.ts';
import type { AuthService } from '../../services/auth.service.ts';
import type { UserService } from '../../services/user.service.ts';
import { guard, principalOf } from '../http.ts';
import { credentialsSchema, errorSchema, idParam, publicUserSchema } from '../schemas.ts';

interface CreateBody {
  username: string;
  displayName?: string;
  role: string;
  jurisdiction: string;
}

export function registerUserRoutes(app: FastifyInstance, deps: { auth: AuthService; users: UserService }): void {
  const { auth, users } = deps;
  const admin = guard(auth, 'users:admin');

  app.get('/api/admin/users', {
    preHandler: admin,
    schema: { tags: ['admin'], summary: 'Users in my subtree', response: { 200: { type: 'object', properties: { users: { type: 'array', items: publicUserSchema } } } } },
  }, async (req) => ({ users: await users.list(principalOf(req)) }));

  app.post<{ Body: CreateBody }>('/api/admin/users', {
    preHandler: admin,
    schema: {
      tags: ['admin'],
      summary: 'Create a user; answers a one-time password (and a TOTP secret for admin, analyst, commander) once',
      body: {
        type: 'object',
        required: ['username', 'role', 'jurisdiction'],
        additionalProperties: false,
        properties: {
          username: { type: 'string', minLength: 3, maxLength: 32 },
          displayName: { type: 'string', maxLength: 100 },
          role: { type: 'string', enum: [...ROLES] },
          jurisdiction: { type: 'string', minLength: 1, maxLength: 64 },
        },
      },
      response: { 201: credentialsSchema, 400: errorSchema },
    },
  }, async (req, reply) => reply.code(201).send(await users.create(principalOf(req), req.body)));

  app.get<{ Params: { id: string } }>('/api/admin/users/:id', {
    preHandler: admin,
    schema: { tags: ['admin'], params: idParam, response: { 200: publicUserSchema, 404: errorSchema } },
  }, async (req) => users.get(principalOf(req), req.params.id));

  const action = (name: 'disable' | 'enable' | 'unlock', summary: string): void => {
    app.post<{ Params: { id: string } }>(`/api/admin/users/:id/${name}`, {
      preHandler: admin,
      schema: { tags: ['admin'], summary, params: idParam, response: { 200: publicUserSchema, 404: errorSchema } },
    }, async (req) => users[name](principalOf(req), req.params.id));
  };
  action('disable', 'Disable a user; their sessions end at once');
  action('enable', 'Enable a disabled user');
  action('unlock', 'Clear a lockout after failed logins');

  app.post<{ Params: { id: string } }>('/api/admin/users/:id/reset', {
    preHandler: admin,
    schema: { tags: ['admin'], summary: 'Issue a new one-time password (and TOTP secret); ends the user\'s sessions', params: idParam, response: { 200: credentialsSchema, 404: errorSchema } },
  }, async (req) => users.reset(principalOf(req), req.params.id));
}
