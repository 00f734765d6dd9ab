/**
 * @module Browser benchmark of the command center: the commander's dashboard first render, and the
 * transmission chain graph, with 5,000 cases and 20,000 contacts (open leads) in the records store.
 * Runs the real server on a small generated city (for the map), seeds the records through the records
 * store port, and measures in Debian's Chromium. Usage:
 *   node bin/run-ts.js bench/ui.ts [--cases 5000] [--contacts 20000] [--runs 5]
 * Prints medians (and min/max) of: dashboard first render (navigation → KPIs, map and curve drawn),
 * chain graph first render, "expand all" (every case and contact on the canvas), and redraw time per
 * zoom step at full size.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config.ts';
import { startCordon } from '../src/services/bootstrap.service.ts';
import { buildCordonServer } from '../src/server/cordon-server.ts';
import { base32Decode, totp } from '../src/domain/auth.ts';
import type { CaseRecord, CommandRecord, LeadRecord, PersonStatusRecord } from '../src/stores/records/records-store.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '5000' },
    contacts: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '5' },
    chromium: { type: 'string', default: process.env.CORDON_TEST_CHROMIUM ?? '/usr/bin/chromium' },
  },
});
const CASES = Number(values.cases);
const CONTACTS = Number(values.contacts);
const RUNS = Number(values.runs);

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const stats = (xs: number[]): { median: number; min: number; max: number; runs: number } => ({ median: Math.round(median(xs)), min: Math.round(Math.min(...xs)), max: Math.round(Math.max(...xs)), runs: xs.length });

// A small deterministic generator, so two runs seed the same records.
let state = 12345;
const rand = (): number => { state = (state * 1103515245 + 12345) & 0x7fffffff; return state / 0x7fffffff; };
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

const build = spawnSync(process.execPath, ['bin/ensure-web.js'], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('building the UI failed');

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-ui-'));
const config = loadConfig({ data: dataDir, demoPeople: '2000', demoDays: '7' }, {});
console.error(`starting Cordon on a small city in ${dataDir}…`);
const { runtime, demoUsers } = await startCordon(config);
const { app } = await buildCordonServer(runtime, { log: false });
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

// ---- seed: a chain of CASES cases (each infected by an earlier one) and CONTACTS open leads with commands.
const units = (await runtime.records.listJurisdictions()).filter((j) => j.level === 'community').map((j) => j.code);
const t0 = Date.parse('2020-01-20T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const now = Date.now();
console.error(`seeding ${CASES} cases and ${CONTACTS} contacts…`);
const seedStart = performance.now();
await runtime.records.transaction(async (tx) => {
  for (let i = 0; i < CASES; i++) {
    const onset = iso(t0 + Math.floor((i / CASES) * 30 + rand() * 5) * 86_400_000).slice(0, 10);
    const key = `id_card:9${String(i).padStart(17, '0')}`;
    const c: CaseRecord = {
      id: `BENCH-C${i}`, personKey: key, ids: [key], classification: i % 7 === 0 ? 'asymptomatic' : i % 11 === 0 ? 'suspected' : 'confirmed',
      onset, sampled: null, isolatedAt: null, jurisdiction: pick(units), sourceCaseId: i === 0 ? null : `BENCH-C${Math.floor(rand() * Math.min(i, 1 + i / 2))}`,
      sourceLeadId: null, loopClosed: false, traces: 1, createdAt: iso(t0 + i * 60_000), updatedAt: iso(t0 + i * 60_000),
    };
    await tx.insertCase(c);
    const status: PersonStatusRecord = { personKey: key, ids: [key], status: 'case', jurisdiction: c.jurisdiction, caseId: c.id, since: c.createdAt, updatedAt: c.createdAt };
    await tx.putPersonStatus(status);
  }
  for (let j = 0; j < CONTACTS; j++) {
    const caseIndex = Math.floor(rand() * CASES);
    const key = `phone:1${String(j).padStart(10, '0')}`;
    const unit = pick(units);
    const place = pick(['venue', 'household', 'workplace', 'train', 'cell']) + `:P${Math.floor(rand() * 400)}`;
    const lead: LeadRecord = {
      id: `BENCH-L${j}`, caseId: `BENCH-C${caseIndex}`, personKey: key, ids: [key], degree: 1, category: pick(['close', 'close', 'secondary', 'companion', 'general']),
      viaPersonKey: null, risk: Math.floor(rand() * 100), evidence: { pairs: [{ contact: { place } }] }, status: 'open', outcome: null,
      commandId: `BENCH-K${j}`, jurisdiction: unit, reissueOf: null, createdAt: iso(now - 3_600_000), closedAt: null,
    };
    await tx.insertLead(lead);
    const deadline = iso(now + (rand() < 0.2 ? -1 : 1) * Math.floor(rand() * 4 * 3_600_000));
    const command: CommandRecord = {
      id: `BENCH-K${j}`, leadId: lead.id, caseId: lead.caseId, personKey: key, type: 'verify_on_site', priority: 'high', jurisdiction: unit,
      state: 'pushed', deadline, overdue: deadline < iso(now), escalationLevel: 0, escalatedTo: null, createdAt: lead.createdAt, updatedAt: lead.createdAt, version: 1,
    };
    await tx.insertCommand(command);
    if (j % 4 === 0) await tx.putPersonStatus({ personKey: key, ids: [key], status: pick(['home_control', 'centralized_isolation']), jurisdiction: unit, caseId: null, since: lead.createdAt, updatedAt: lead.createdAt });
  }
});
console.error(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

// ---- browser: sign the commander in through the API (the journeys test does it through the UI).
const browser = await chromium.launch({ executablePath: values.chromium, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
const commander = demoUsers.find((u) => u.role === 'commander')!;
const login = await context.request.post(`${url}/api/auth/login`, { data: { username: 'commander', password: commander.oneTimePassword, totp: totp(base32Decode(commander.totpSecret!), Math.floor(Date.now() / 1000)) } });
if (!login.ok()) throw new Error(`login failed: ${login.status()} ${await login.text()}`);
const changed = await context.request.post(`${url}/api/auth/password`, { data: { currentPassword: commander.oneTimePassword, newPassword: 'a long bench password 42' } });
if (!changed.ok()) throw new Error(`password change failed: ${changed.status()} ${await changed.text()}`);
// about:blank has no storage; only the app's pages get the flag.
await context.addInitScript(() => { if (location.protocol === 'http:') localStorage.setItem('cordon.signedIn', '1'); });
// A case's leads are read with a purpose (audited): give the benchmark case one, as an analyst would.
await context.addInitScript(() => { if (location.protocol === 'http:') sessionStorage.setItem('cordon.purposes', JSON.stringify({ 'BENCH-C0': 'benchmark of the chain graph' })); });
// Every draw of the chain graph sets its data-nodes attribute: log when, to time the first full draw.
await context.addInitScript(() => {
  const log: [number, string | undefined][] = [];
  (window as unknown as { nodesLog: typeof log }).nodesLog = log;
  new MutationObserver((ms) => { for (const m of ms) if (m.attributeName === 'data-nodes') log.push([Math.round(performance.now()), (m.target as HTMLElement).dataset.nodes]); })
    .observe(document, { attributes: true, subtree: true, attributeFilter: ['data-nodes'] });
});
const page = await context.newPage();
const errors: string[] = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(e.message));

/** True in the page when a canvas shows more than a few colours. */
const DRAWN = `(id) => { const c = document.querySelector('[data-testid="' + id + '"]'); if (!c || !c.width) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const seen = new Set();
  for (let i = 0; i < d.length; i += 4 * 13) { seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); if (seen.size > 6) return true; } return false; }`;

/** When the page's last API answer arrived (ms after navigation), to tell server time from drawing time. */
const apiDoneMs = (): Promise<number> => page.evaluate(() => Math.max(0, ...performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/api/') && !e.name.includes('/api/events'))
  .map((e) => (e as PerformanceResourceTiming).responseEnd)));

/** Each API request of the current page: path and time from request start to the last byte. */
const apiBreakdown = (): Promise<{ path: string; ms: number }[]> => page.evaluate(() => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/api/') && !e.name.includes('/api/events'))
  .map((e) => ({ path: new URL(e.name).pathname, ms: Math.round((e as PerformanceResourceTiming).responseEnd - e.startTime) })));

const dashboard: number[] = [];
const dashboardApi: number[] = [];
for (let r = 0; r < RUNS; r++) {
  await page.goto('about:blank');
  await page.goto(`${url}/#/dashboard`);
  await page.waitForFunction(`(() => { const drawn = ${DRAWN};
    return document.querySelector('[data-testid=kpi-cases]')?.textContent === '${CASES}' && drawn('dashboard-map') && drawn('epi-curve')
      && document.querySelectorAll('[data-testid=recent-cases] tbody tr').length > 1; })()`, undefined, { timeout: 60_000, polling: 'raf' });
  dashboard.push(await page.evaluate(() => performance.now()));
  dashboardApi.push(await apiDoneMs());
}

const dashboardRequests = await apiBreakdown();
const rootCase = 'BENCH-C0';
const chainRequests: { path: string; ms: number }[] = [];
const chainFirst: number[] = [];
const chainCases: number[] = [];
const chainApi: number[] = [];
const expandAll: number[] = [];
const redraw: number[] = [];
let nodes = 0;
for (let r = 0; r < RUNS; r++) {
  await page.goto('about:blank');
  await page.goto(`${url}/#/case/${rootCase}`);
  // The chain of the first case is every case: drawn as soon as the chain arrives, before the leads.
  await page.waitForFunction(`Number(document.querySelector('[data-testid=chain-graph]')?.dataset.nodes) >= ${CASES}`, undefined, { timeout: 120_000, polling: 'raf' });
  const log = await page.evaluate(() => (window as unknown as { nodesLog: [number, string][] }).nodesLog);
  chainCases.push(log.find(([, n]) => Number(n) >= CASES)?.[0] ?? NaN);
  // Then the leads hang under them (collapsed by place).
  await page.waitForFunction(`(() => { const c = document.querySelector('[data-testid=chain-graph]');
    return c && Number(c.dataset.nodes) >= ${CASES} && document.querySelector('.chain .toolbar span')?.textContent?.includes('${CONTACTS}') && (${DRAWN})('chain-graph'); })()`, undefined, { timeout: 120_000, polling: 'raf' });
  chainFirst.push(await page.evaluate(() => performance.now()));
  chainApi.push(await apiDoneMs());
  if (r === RUNS - 1) chainRequests.push(...(await apiBreakdown()));
  const before = await page.evaluate(() => performance.now());
  await page.locator('.chain .toolbar button').first().click();
  await page.waitForFunction(`Number(document.querySelector('[data-testid=chain-graph]').dataset.nodes) >= ${CASES + CONTACTS}`, undefined, { timeout: 120_000, polling: 'raf' });
  expandAll.push((await page.evaluate(() => performance.now())) - before);
  nodes = Number(await page.getByTestId('chain-graph').getAttribute('data-nodes'));
  // Interaction at full size: wheel-zoom steps, each one redraw; the canvas reports its draw time.
  const box = (await page.getByTestId('chain-graph').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let k = 0; k < 10; k++) {
    await page.mouse.wheel(0, k < 5 ? -240 : 240);
    await page.waitForTimeout(30);
    redraw.push(Number(await page.getByTestId('chain-graph').getAttribute('data-render-ms')));
  }
}

const result = {
  cases: CASES, contacts: CONTACTS, runs: RUNS,
  dashboardFirstRenderMs: stats(dashboard),
  dashboardLastApiAnswerMs: stats(dashboardApi),
  chainCasesDrawnMs: stats(chainCases),
  chainFirstRenderMs: stats(chainFirst),
  chainLastApiAnswerMs: stats(chainApi),
  chainExpandAllMs: stats(expandAll),
  chainNodesOnCanvas: nodes,
  chainRedrawPerZoomMs: stats(redraw),
  dashboardRequests,
  chainRequests,
  consoleErrors: errors.length,
  firstConsoleErrors: errors.slice(0, 3),
};
console.log(JSON.stringify(result, null, 2));
console.log(`\ndashboard first render, ${CASES} cases / ${CONTACTS} contacts: median ${result.dashboardFirstRenderMs.median} ms (min ${result.dashboardFirstRenderMs.min}, max ${result.dashboardFirstRenderMs.max}; target < 1500 ms); last API answer at ${result.dashboardLastApiAnswerMs.median} ms`);
console.log(`chain graph: ${CASES} cases drawn at median ${result.chainCasesDrawnMs.median} ms; with all ${CONTACTS} contacts at median ${result.chainFirstRenderMs.median} ms (last API answer at ${result.chainLastApiAnswerMs.median} ms); expand all to ${nodes} nodes: median ${result.chainExpandAllMs.median} ms; redraw per zoom step: median ${result.chainRedrawPerZoomMs.median} ms (max ${result.chainRedrawPerZoomMs.max})`);

await browser.close();
await app.close();
await runtime.close();
fs.rmSync(dataDir, { recursive: true, force: true });
