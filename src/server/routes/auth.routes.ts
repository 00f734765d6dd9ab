/**
 * @module Routes for logging in and out, who am I, and changing one's password.
 */
import type { FastifyInstance } from 'fastify';
import { ROLE_PERMISSIONS } from '../../domain/roles.ts';
import type { AuthService } from '../../services/auth.service.ts';
import { clearSessionCookie, guard, principalOf, sessionToken, setSessionCookie, type CookieOptions } from '../http.ts';
import { errorSchema, principalSchema } from '../schemas.ts';

interface LoginBody {
  username: string;
  password: string;
  totp?: string;
}

export function registerAuthRoutes(app: FastifyInstance, deps: { auth: AuthService; cookies: CookieOptions }): void {
  const { auth, cookies } = deps;

  app.post<{ Body: LoginBody }>('/api/auth/login', {
    schema: {
      tags: ['auth'],
      summary: 'Log in with a password, and a TOTP code for admin, analyst and commander; sets the session cookie',
      body: {
        type: 'object',
        required: ['username', 'password'],
        additionalProperties: false,
        properties: {
          username: { type: 'string', minLength: 1, maxLength: 64 },
          password: { type: 'string', minLength: 1, maxLength: 256 },
          totp: { type: 'string', pattern: '^[0-9]{6}$', description: '6-digit code from the authenticator app' },
        },
      },
      response: { 200: { type: 'object', properties: { user: principalSchema } }, 401: errorSchema },
    },
  }, async (req, reply) => {
    const { token, principal } = await auth.login(req.body);
    setSessionCookie(reply, token, auth.policy.absoluteSeconds, cookies);
    return { user: { ...principal, permissions: ROLE_PERMISSIONS[principal.role] } };
  });

  app.post('/api/auth/logout', {
    schema: { tags: ['auth'], summary: 'End the current session', response: { 204: { type: 'null' } } },
  }, async (req, reply) => {
    let principal;
    try {
      principal = await auth.authenticate(sessionToken(req));
    } catch {
      principal = undefined;
    }
    await auth.logout(sessionToken(req), principal);
    clearSessionCookie(reply, cookies);
    return reply.code(204).send();
  });

  app.get('/api/auth/me', {
    preHandler: guard(auth, undefined, { allowPasswordChange: true }),
    schema: { tags: ['auth'], summary: 'The logged-in user, role, jurisdiction and permissions', response: { 200: { type: 'object', properties: { user: principalSchema } }, 401: errorSchema } },
  }, async (req) => {
    const p = principalOf(req);
    return { user: { ...p, permissions: ROLE_PERMISSIONS[p.role] } };
  });

  app.post<{ Body: { currentPassword: string; newPassword: string } }>('/api/auth/password', {
    preHandler: guard(auth, undefined, { allowPasswordChange: true }),
    schema: {
      tags: ['auth'],
      summary: 'Change one\'s own password (required after a one-time password); other sessions end',
      body: {
        type: 'object',
        required: ['currentPassword', 'newPassword'],
        additionalProperties: false,
        properties: { currentPassword: { type: 'string', minLength: 1, maxLength: 256 }, newPassword: { type: 'string', minLength: 1, maxLength: 256 } },
      },
      response: { 204: { type: 'null' }, 400: errorSchema, 401: errorSchema },
    },
  }, async (req, reply) => {
    await auth.changePassword(principalOf(req), req.body.currentPassword, req.body.newPassword, sessionToken(req));
    return reply.code(204).send();
  });
}
