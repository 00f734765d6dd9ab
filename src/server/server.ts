/**
 * @module The HTTP server: `buildServer(deps)` makes a Fastify app with every route, the OpenAPI
 * document at /api/docs, live events at /api/events, and the command center (web/dist) or a plain
 * status page at /. Tests start it in-process on port 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { AuditService } from '../services/audit.service.ts';
import type { AuthService } from '../services/auth.service.ts';
import type { ScopeCheck, UserService } from '../services/user.service.ts';
import { guard, installErrorHandler, principalOf, sessionToken, type CookieOptions } from './http.ts';
import { LiveHub, type LiveEventSource } from './live-events.ts';
import { registerAuditRoutes } from './routes/audit.routes.ts';
import { registerAuthRoutes } from './routes/auth.routes.ts';
import { registerUserRoutes } from './routes/users.routes.ts';

/** What is loaded, for the plain page shown when the UI is not built. */
export type StatusReport = Record<string, number | string | null>;

/** Extra route groups (the loop, people, trace, ingest) registered by whoever wires the services. */
export type RouteGroup = (app: FastifyInstance, ctx: RouteContext) => void;

/** What a route group gets besides the app. */
export interface RouteContext {
  auth: AuthService;
  audit: AuditService;
  cookies: CookieOptions;
  scope: () => Promise<ScopeCheck | null>;
}

export interface ServerDeps {
  auth: AuthService;
  users: UserService;
  audit: AuditService;
  /** The current jurisdiction tree, or null before one is imported (then scopes match exactly). */
  scope: () => Promise<ScopeCheck | null>;
  /** Sources of live events for /api/events. */
  events?: readonly LiveEventSource[];
  /** Route groups of the other services, registered after the built-in ones. */
  routes?: readonly RouteGroup[];
  /** Counts for the status page (presences, people, cases). */
  status?: () => Promise<StatusReport>;
  /** Folder of the built UI; served at / when it holds an index.html. */
  webDist?: string | null;
  /**
   * Where log lines go: a stream (tests capture it), `true` for stdout, false for none. Requests are
   * logged by route pattern and status only; bodies, query strings and URLs never are.
   */
  log?: Writable | boolean;
  /** Send the session cookie only over HTTPS. */
  secureCookies?: boolean;
  /** Seconds between SSE keep-alives, which also re-check each stream's session (default 15). */
  heartbeatSeconds?: number;
}

export interface CordonServer {
  app: FastifyInstance;
  hub: LiveHub;
}

/** Builds the app (not yet listening). Call `app.listen({ port, host })`, and `app.close()` to stop. */
export async function buildServer(deps: ServerDeps): Promise<CordonServer> {
  const logger =
    deps.log === false || deps.log === undefined
      ? false
      : { level: 'info', stream: deps.log === true ? process.stdout : deps.log, serializers: { req: () => ({}), res: () => ({}) } };
  const app = Fastify({
    logger,
    // Fastify's own request lines carry the URL, which may hold identifiers: we log our own instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
  });
  const cookies: CookieOptions = { secure: deps.secureCookies ?? false };

  await app.register(fastifyCookie);
  app.decorateRequest('principal', null);
  installErrorHandler(app);

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    // Every API answer may carry personal data or session state: never cache it anywhere.
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, route: req.routeOptions.url ?? '(unmatched)', status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Cordon API',
        description: 'Outbreak contact tracing and closed-loop response (疫情流调溯源与闭环处置指挥平台). Log in at /api/auth/login; the session is an HttpOnly cookie.',
        version: '0.1.0',
      },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'cordon_session' } } },
      security: [{ session: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  const hub = new LiveHub(deps.events ?? [], async (principal, jurisdiction) => {
    const tree = await deps.scope();
    return tree ? tree.inScope(principal.jurisdiction, jurisdiction) : principal.jurisdiction === jurisdiction;
  });

  registerAuthRoutes(app, { auth: deps.auth, cookies });
  registerUserRoutes(app, { auth: deps.auth, users: deps.users });
  registerAuditRoutes(app, { auth: deps.auth, audit: deps.audit });
  const ctx: RouteContext = { auth: deps.auth, audit: deps.audit, cookies, scope: deps.scope };
  for (const group of deps.routes ?? []) group(app, ctx);

  app.get('/api/health', { schema: { tags: ['status'], summary: 'Liveness', security: [] } }, async () => ({ ok: true }));

  app.get('/api/events', {
    preHandler: guard(deps.auth),
    schema: { tags: ['live'], summary: 'Server-sent events for dashboards and inboxes, filtered to my jurisdiction subtree' },
  }, async (req, reply) => {
    const principal = principalOf(req);
    const token = sessionToken(req);
    reply.hijack();
    const close = hub.open(principal, reply.raw);
    const beat = setInterval(() => {
      reply.raw.write(': keep-alive\n\n');
      // A disabled user or an ended session must not keep receiving events.
      deps.auth.authenticate(token).catch(() => {
        clearInterval(beat);
        close();
      });
    }, (deps.heartbeatSeconds ?? 15) * 1000);
    beat.unref();
    req.raw.on('close', () => {
      clearInterval(beat);
      close();
    });
  });

  const dist = deps.webDist && fs.existsSync(path.join(deps.webDist, 'index.html')) ? path.resolve(deps.webDist) : null;
  if (dist) {
    await app.register(fastifyStatic, { root: dist, prefix: '/', index: ['index.html'] });
  } else {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => {
      const status = deps.status ? await deps.status() : {};
      return reply.type('text/html; charset=utf-8').send(statusPage(status));
    });
  }
  app.setNotFoundHandler((req, reply) => {
    // The UI routes on the client: any unknown page path gets the app, API paths get a clear 404.
    if (dist && req.method === 'GET' && !req.url.startsWith('/api/')) return reply.sendFile('index.html');
    return reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.addHook('onClose', async () => hub.close());
  return { app, hub };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The plain page: what is loaded, and where the API and its documentation are. */
export function statusPage(status: StatusReport): string {
  const rows = Object.entries(status)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v === null ? '—' : typeof v === 'number' ? v.toLocaleString('en') : v)}</td></tr>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cordon</title>
<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}th{text-align:left;padding-right:2rem;font-weight:500}td{font-variant-numeric:tabular-nums}</style>
</head><body><h1>Cordon</h1><p>Outbreak contact tracing and closed-loop response · 疫情流调溯源与闭环处置指挥平台</p>
<p>The command center UI is not built on this server; the API is running.</p>
<table>${rows}</table>
<p><a href="/api/docs">API documentation (OpenAPI)</a></p></body></html>`;
}
