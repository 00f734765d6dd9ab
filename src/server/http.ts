/**
 * @module HTTP plumbing shared by the routes: the session cookie, the guard that turns a cookie into a
 * principal and checks a permission, and the mapping of service errors to clear JSON answers.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Permission } from '../domain/roles.ts';
import { AuthenticationError, type AuthService, type Principal } from '../services/auth.service.ts';
import { redactText } from './redact.ts';

export const SESSION_COOKIE = 'cordon_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `guard` once the session cookie is checked. */
    principal: Principal | null;
  }
}

/** The principal of a guarded request (the guard ran, so it is set). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new AuthenticationError('not_authenticated', 'not logged in');
  return req.principal;
}

/** The session token from the cookie, if any. */
export function sessionToken(req: FastifyRequest): string | undefined {
  return req.cookies[SESSION_COOKIE];
}

export interface CookieOptions {
  /** Send the cookie only over HTTPS (set behind TLS). */
  secure: boolean;
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, path /, ending with the absolute session timeout. */
export function setSessionCookie(reply: FastifyReply, token: string, maxAgeSeconds: number, opts: CookieOptions): void {
  void reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: opts.secure,
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(reply: FastifyReply, opts: CookieOptions): void {
  void reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/', secure: opts.secure });
}

/**
 * A preHandler that authenticates the session and, when given, checks a permission (refusals audited).
 * With `allowPasswordChange`, a user still on a one-time password passes (for /auth/me and the change itself).
 */
export function guard(auth: AuthService, permission?: Permission, opts: { allowPasswordChange?: boolean } = {}) {
  return async (req: FastifyRequest): Promise<void> => {
    const principal = await auth.authenticate(sessionToken(req));
    req.principal = principal;
    if (permission || !opts.allowPasswordChange) await auth.require(principal, permission ?? null, req.routeOptions.url ?? null);
  };
}

/** The JSON error body every failure has: a stable code, a message naming the field, details when validating. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: { field: string; message: string }[];
}

/** Turns an error into a status and body. Messages from services already name the field. */
export function toErrorBody(err: FastifyError | Error): { status: number; body: ErrorBody } {
  const fe = err as FastifyError & { validation?: { instancePath: string; message?: string; params?: Record<string, unknown> }[]; validationContext?: string };
  if (fe.validation) {
    const where = fe.validationContext ?? 'body';
    const details = fe.validation.map((v) => {
      const missing = v.params && typeof v.params.missingProperty === 'string' ? `/${v.params.missingProperty}` : '';
      const extra = v.params && typeof v.params.additionalProperty === 'string' ? `/${v.params.additionalProperty}` : '';
      const field = `${where}${(v.instancePath + missing + extra).replace(/\//g, '.')}`;
      const allowed = v.params && Array.isArray(v.params.allowedValues) ? ` (${(v.params.allowedValues as unknown[]).join(', ')})` : '';
      const message = extra ? 'is not a known field' : `${v.message ?? 'is invalid'}${allowed}`;
      return { field, message };
    });
    return {
      status: 400,
      body: { error: 'validation', message: details.map((d) => `${d.field}: ${d.message}`).join('; '), details },
    };
  }
  if (err instanceof AuthenticationError) return { status: 401, body: { error: err.code, message: err.message } };
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : statusByName(err.name);
  const code = status >= 500 ? 'internal' : codeOf(err, status);
  // A 5xx message may hold anything; the client gets a generic one, the log a redacted one.
  const message = status >= 500 ? 'internal error; the server log has a reference' : err.message;
  return { status, body: { error: code, message } };
}

function statusByName(name: string): number {
  if (/NotFound/.test(name)) return 404;
  if (/PermissionDenied|Forbidden/.test(name)) return 403;
  if (/Conflict|InvalidTransition|Concurrent/.test(name)) return 409;
  if (/Validation|Input|Rule|Purpose|Format|Parse|Tree/.test(name)) return 400;
  return 500;
}

function codeOf(err: Error, status: number): string {
  if (status === 404) return 'not_found';
  if (status === 403) return 'forbidden';
  if (status === 409) return 'conflict';
  if (status === 413) return 'too_large';
  if (status === 415) return 'unsupported_media_type';
  // A read refused for want of a purpose: the UI asks for one when it sees this code.
  if (status === 400 && err.name === 'PurposeRequiredError') return 'purpose_required';
  if (status === 400) return (err as FastifyError).code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.name === 'SyntaxError' ? 'bad_json' : 'bad_request';
  return 'error';
}

/** Installs the error handler: clear JSON to the client, a redacted line to the log. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, body } = toErrorBody(err);
    if (status >= 500) {
      req.log.error({ err: { name: err.name, message: redactText(err.message), stack: redactText(err.stack ?? '') }, route: req.routeOptions.url }, 'request failed');
    }
    void reply.code(status).header('cache-control', 'no-store').send(body);
  });
}
