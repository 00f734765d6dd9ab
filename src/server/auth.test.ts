import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM } from '../services/user.service.ts';
import { FIXTURE_PASSWORD, startFixture, type Fixture } from './test-fixture.ts';

let fx: Fixture;
beforeEach(async () => {
  fx = await startFixture();
});
afterEach(async () => {
  await fx.close();
});

async function post(path: string, body: unknown, cookie?: string): Promise<Response> {
  return fetch(`${fx.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
}
async function get(path: string, cookie?: string): Promise<Response> {
  return fetch(`${fx.url}${path}`, { headers: cookie ? { cookie } : {} });
}

describe('login', () => {
  it('sets an HttpOnly SameSite=Strict session cookie and answers who I am, never cached', async () => {
    await fx.addUser('officer', 'precinct_officer', 'NB-ZH-01');
    const res = await post('/api/auth/login', { username: 'Officer', password: FIXTURE_PASSWORD });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^cordon_session=[A-Za-z0-9_-]{20,}/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const me = await get('/api/auth/me', setCookie.split(';')[0]);
    expect(me.status).toBe(200);
    expect((await me.json()).user).toMatchObject({ username: 'officer', role: 'precinct_officer', jurisdiction: 'NB-ZH-01' });
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect((await get('/api/auth/me')).status).toBe(401);
  });

  it('locks the account after 5 failed logins, audits each, and refuses even the right password', async () => {
    const { id } = await fx.addUser('officer', 'precinct_officer', 'NB-ZH-01');
    for (let i = 0; i < 5; i++) {
      const res = await post('/api/auth/login', { username: 'officer', password: 'wrong password here' });
      expect(res.status).toBe(401);
      expect((await res.json()).error).toBe('invalid_credentials');
    }
    const locked = await post('/api/auth/login', { username: 'officer', password: FIXTURE_PASSWORD });
    expect(locked.status).toBe(401);
    expect((await locked.json()).error).toBe('account_locked');
    const trail = await fx.store.searchAudit({ userId: id });
    expect(trail.rows.filter((r) => r.action === 'login_failed')).toHaveLength(6);
    expect(trail.rows.filter((r) => r.action === 'account_locked')).toHaveLength(1);
    // After the lock period, the right password works and the count starts again.
    fx.advance(fx.auth.policy.lockSeconds + 1);
    expect((await post('/api/auth/login', { username: 'officer', password: FIXTURE_PASSWORD })).status).toBe(200);
    expect((await fx.store.userById(id))?.failedLogins).toBe(0);
  });

  it('an administrator can unlock a locked account', async () => {
    const { id } = await fx.addUser('officer', 'precinct_officer', 'NB-ZH-01');
    for (let i = 0; i < 5; i++) await post('/api/auth/login', { username: 'officer', password: 'wrong password here' });
    await fx.users.unlock(SYSTEM, id);
    expect((await post('/api/auth/login', { username: 'officer', password: FIXTURE_PASSWORD })).status).toBe(200);
  });

  it('gives the same answer for an unknown user as for a wrong password, and audits it', async () => {
    const res = await post('/api/auth/login', { username: 'nobody', password: 'whatever it is' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_credentials', message: 'wrong user name or password' });
    const trail = await fx.store.searchAudit({ action: 'login_failed' });
    expect(trail.rows[0]).toMatchObject({ username: 'nobody', outcome: 'failed', userId: null });
  });

  it('requires TOTP for admin, analyst and commander, and refuses a replayed code', async () => {
    for (const role of ['admin', 'analyst', 'commander'] as const) {
      const { totpSecret } = await fx.addUser(`u-${role}`, role, 'NB');
      expect(totpSecret).toMatch(/^[A-Z2-7]{32}$/);
      const secret = totpSecret ?? '';
      const none = await post('/api/auth/login', { username: `u-${role}`, password: FIXTURE_PASSWORD });
      expect((await none.json()).error).toBe('totp_required');
      const wrong = await post('/api/auth/login', { username: `u-${role}`, password: FIXTURE_PASSWORD, totp: fx.code(secret, 5) });
      expect((await wrong.json()).error).toBe('totp_invalid');
      const ok = await post('/api/auth/login', { username: `u-${role}`, password: FIXTURE_PASSWORD, totp: fx.code(secret) });
      expect(ok.status).toBe(200);
      const replay = await post('/api/auth/login', { username: `u-${role}`, password: FIXTURE_PASSWORD, totp: fx.code(secret) });
      expect((await replay.json()).error).toBe('totp_invalid');
    }
    // Field roles log in with a password alone.
    const { totpSecret } = await fx.addUser('liaison', 'health_liaison', 'NB-HS');
    expect(totpSecret).toBeNull();
    expect((await post('/api/auth/login', { username: 'liaison', password: FIXTURE_PASSWORD })).status).toBe(200);
  });

  it('makes a one-time password usable only to change it', async () => {
    const issued = await fx.users.create(SYSTEM, { username: 'newofficer', role: 'precinct_officer', jurisdiction: 'NB-ZH-01' });
    const cookie = await fx.login('newofficer', null, issued.oneTimePassword);
    const me = await (await get('/api/auth/me', cookie)).json();
    expect(me.user.mustChangePassword).toBe(true);
    const blocked = await get('/api/events', cookie);
    expect(blocked.status).toBe(403);
    const weak = await post('/api/auth/password', { currentPassword: issued.oneTimePassword, newPassword: 'short' }, cookie);
    expect(weak.status).toBe(400);
    expect((await weak.json()).message).toMatch(/newPassword: password must have at least 12 characters/);
    const changed = await post('/api/auth/password', { currentPassword: issued.oneTimePassword, newPassword: 'a new long passphrase' }, cookie);
    expect(changed.status).toBe(204);
    expect((await (await get('/api/auth/me', cookie)).json()).user.mustChangePassword).toBe(false);
    // The one-time password no longer works.
    expect((await post('/api/auth/login', { username: 'newofficer', password: issued.oneTimePassword })).status).toBe(401);
  });
});

describe('sessions', () => {
  it('end after the idle timeout', async () => {
    await fx.addUser('officer', 'precinct_officer', 'NB-ZH-01');
    const cookie = await fx.login('officer');
    fx.advance(fx.auth.policy.idleSeconds - 60);
    expect((await get('/api/auth/me', cookie)).status).toBe(200);
    fx.advance(fx.auth.policy.idleSeconds - 60);
    expect((await get('/api/auth/me', cookie)).status).toBe(200);
    fx.advance(fx.auth.policy.idleSeconds);
    const res = await get('/api/auth/me', cookie);
    expect(res.status).toBe(401);
    expect((await res.json()).error).toBe('session_expired');
  });

  it('end at the absolute timeout even when in constant use', async () => {
    await fx.addUser('officer', 'precinct_officer', 'NB-ZH-01');
    const cookie = await fx.login('officer');
    const step = fx.auth.policy.idleSeconds / 2;
    for (let t = step; t < fx.auth.policy.absoluteSeconds; t += step) {
      fx.advance(step);
      expect((await get('/api/auth/me', cookie)).status).toBe(200);
    }
    fx.advance(step);
    expect((await (await get('/api/auth/me', cookie)).json()).error).toBe('session_expired');
  });

  it('end at once when the user is disabled, and the user cannot log in again', async () => {
    const { id } = await fx.addUser('officer', 'precinct_officer', 'NB-ZH-01');
    const a = await fx.login('officer');
    const b = await fx.login('officer');
    const { totpSecret } = await fx.addUser('root-admin', 'admin', 'NB');
    const admin = await fx.login('root-admin', totpSecret);
    const res = await post(`/api/admin/users/${id}/disable`, {}, admin);
    expect(res.status).toBe(200);
    expect((await res.json()).disabled).toBe(true);
    expect((await get('/api/auth/me', a)).status).toBe(401);
    expect((await get('/api/auth/me', b)).status).toBe(401);
    expect((await post('/api/auth/login', { username: 'officer', password: FIXTURE_PASSWORD })).status).toBe(401);
  });

  it('logout ends the session', async () => {
    await fx.addUser('officer', 'precinct_officer', 'NB-ZH-01');
    const cookie = await fx.login('officer');
    expect((await post('/api/auth/logout', {}, cookie)).status).toBe(204);
    expect((await get('/api/auth/me', cookie)).status).toBe(401);
  });
});

describe('administration and audit', () => {
  it('an administrator sees and manages only users in their subtree; others are 404', async () => {
    const { totpSecret } = await fx.addUser('hs-admin', 'admin', 'NB-HS');
    const inside = await fx.addUser('hs-officer', 'precinct_officer', 'NB-HS-01');
    const outside = await fx.addUser('zh-officer', 'precinct_officer', 'NB-ZH-01');
    const admin = await fx.login('hs-admin', totpSecret);
    const list = await (await get('/api/admin/users', admin)).json();
    expect(list.users.map((u: { username: string }) => u.username).sort()).toEqual(['hs-admin', 'hs-officer']);
    expect((await get(`/api/admin/users/${inside.id}`, admin)).status).toBe(200);
    expect((await get(`/api/admin/users/${outside.id}`, admin)).status).toBe(404);
    expect((await post(`/api/admin/users/${outside.id}/disable`, {}, admin)).status).toBe(404);
    const created = await post('/api/admin/users', { username: 'zh-new', role: 'precinct_officer', jurisdiction: 'NB-ZH-01' }, admin);
    expect(created.status).toBe(400);
    expect((await created.json()).message).toMatch(/jurisdiction: "NB-ZH-01" is outside your jurisdiction/);
    const ok = await post('/api/admin/users', { username: 'hs-new', role: 'quarantine_staff', jurisdiction: 'NB-HS-01' }, admin);
    expect(ok.status).toBe(201);
    const body = await ok.json();
    expect(body.oneTimePassword).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
    expect(body.user).not.toHaveProperty('passwordHash');
  });

  it('audits refused authorisations, and only auditors and admins read the trail', async () => {
    const officer = await fx.addUser('officer', 'precinct_officer', 'NB-ZH-01');
    await fx.addUser('auditor', 'auditor', 'NB');
    const oc = await fx.login('officer');
    expect((await get('/api/admin/users', oc)).status).toBe(403);
    expect((await get('/api/audit', oc)).status).toBe(403);
    const ac = await fx.login('auditor');
    const res = await get(`/api/audit?action=authz.denied&userId=${officer.id}`, ac);
    expect(res.status).toBe(200);
    const trail = await res.json();
    expect(trail.total).toBe(2);
    expect(trail.rows[0]).toMatchObject({ role: 'precinct_officer', jurisdiction: 'NB-ZH-01', outcome: 'denied', subject: '/api/audit' });
    expect((await get('/api/audit?action=login', ac)).status).toBe(200);
  });
});

describe('input and documents', () => {
  it('answers invalid input with a clear error naming each field', async () => {
    const missing = await post('/api/auth/login', { username: 'x' });
    expect(missing.status).toBe(400);
    const body = await missing.json();
    expect(body.error).toBe('validation');
    expect(body.details).toContainEqual({ field: 'body.password', message: "must have required property 'password'" });
    const extra = await post('/api/auth/login', { username: 'x', password: 'y', admin: true });
    expect((await extra.json()).details).toContainEqual({ field: 'body.admin', message: 'is not a known field' });
    const badTotp = await post('/api/auth/login', { username: 'x', password: 'y', totp: '12ab' });
    expect((await badTotp.json()).message).toMatch(/body\.totp: must match pattern/);
    const badJson = await fetch(`${fx.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
    expect(badJson.status).toBe(400);
    expect((await badJson.json()).error).toBe('bad_json');
    const { totpSecret } = await fx.addUser('auditor2', 'auditor', 'NB');
    expect(totpSecret).toBeNull();
    const ac = await fx.login('auditor2');
    const badQuery = await get('/api/audit?outcome=maybe&limit=0', ac);
    const q = await badQuery.json();
    expect(q.details.map((d: { field: string }) => d.field).sort()).toEqual(['querystring.limit', 'querystring.outcome']);
  });

  it('serves the OpenAPI document at /api/docs', async () => {
    const ui = await get('/api/docs');
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/swagger/i);
    const doc = await (await get('/api/docs/json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/auth/login', '/api/admin/users', '/api/audit', '/api/events']));
    expect(doc.paths['/api/auth/login'].post.requestBody.content['application/json'].schema.required).toEqual(['username', 'password']);
  });

  it('serves the built UI with a fallback to it for client-side routes, but never for unknown API paths', async () => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-dist-'));
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>Cordon UI</title>');
    fs.mkdirSync(path.join(dist, 'assets'));
    fs.writeFileSync(path.join(dist, 'assets', 'app.js'), 'console.log(1)');
    const ui = await startFixture({ webDist: dist });
    try {
      expect(await (await fetch(`${ui.url}/`)).text()).toContain('Cordon UI');
      expect(await (await fetch(`${ui.url}/cases/C1`)).text()).toContain('Cordon UI');
      expect((await fetch(`${ui.url}/assets/app.js`)).headers.get('content-type')).toMatch(/javascript/);
      const api = await fetch(`${ui.url}/api/nope`);
      expect(api.status).toBe(404);
      expect((await api.json()).error).toBe('not_found');
    } finally {
      await ui.close();
      fs.rmSync(dist, { recursive: true, force: true });
    }
  });

  it('shows a plain page of what is loaded when the UI is not built', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/The command center UI is not built/);
    expect((await get('/api/nothing-here')).status).toBe(404);
  });
});

describe('live events', () => {
  it('delivers events within the user\'s subtree and not others', async () => {
    await fx.addUser('zh-officer', 'precinct_officer', 'NB-ZH-01');
    const cookie = await fx.login('zh-officer');
    const ctrl = new AbortController();
    const res = await fetch(`${fx.url}/api/events`, { headers: { cookie }, signal: ctrl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += decoder.decode(value);
      }
    };
    await readUntil(/event: hello/);
    fx.events.publish({ type: 'command.created', jurisdictions: ['NB-HS-01'], data: { id: 'not-mine' } });
    fx.events.publish({ type: 'command.created', jurisdictions: ['NB-HS-01', 'NB-ZH-01'], data: { id: 'mine' } });
    await readUntil(/"id":"mine"/);
    expect(text).toMatch(/event: command\.created\ndata: \{"id":"mine"\}/);
    expect(text).not.toMatch(/not-mine/);
    ctrl.abort();
  });

  it('ends the stream when the user is disabled', async () => {
    const { id } = await fx.addUser('zh-officer', 'precinct_officer', 'NB-ZH-01');
    const cookie = await fx.login('zh-officer');
    const res = await fetch(`${fx.url}/api/events`, { headers: { cookie } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await fx.users.disable(SYSTEM, id);
    // The keep-alive re-checks the session and closes the stream; read until it ends.
    let done = false;
    while (!done) done = (await reader.read()).done;
    expect(done).toBe(true);
  });
});
