/**
 * @module The command center walked in Debian's Chromium against the real server on a small generated
 * city: log in (one-time password, TOTP, new password); an analyst records a case, traces it, sees its
 * contacts and chain, and pushes; a precinct officer on a 390×844 phone accepts the command and files
 * "tested positive"; the commander's dashboard shows the new case without a reload. Screenshots of every
 * view go to test-output/screenshots/<journey>/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { testChromiumPath } from '../support/services.ts';
import { loadConfig } from '../../src/config.ts';
import { startCordon, type DemoUser, type Runtime } from '../../src/services/bootstrap.service.ts';
import { buildCordonServer } from '../../src/server/cordon-server.ts';
import { base32Decode, totp } from '../../src/domain/auth.ts';
import { expectDrawn, launch, openJourney, unlabelledControls, type JourneyPage } from './browser.ts';

const chromiumPath = testChromiumPath();
const NEW_PASSWORD = 'a long journey password 42';

interface World {
  url: string;
  runtime: Runtime;
  users: Map<string, DemoUser>;
  browser: Browser;
  dataDir: string;
  close: () => Promise<void>;
  /** A resident of the officer's precinct who shares a household with at least one other resident. */
  caseId: string;
  onset: string;
}

let world: World | undefined;

/** People of the generated city: identifier, address and community code, from people.csv. */
function readPeople(dir: string): { id: string; address: string; jurisdiction: string }[] {
  const lines = fs.readFileSync(path.join(dir, 'people.csv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => {
    const f = l.split(',');
    return { id: `${f[0]}:${f[1]}`, address: f[3], jurisdiction: f[6] };
  });
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

async function setup(): Promise<World> {
  // The UI must be built for the server to serve it (the same step `npm start` runs).
  const build = spawnSync(process.execPath, ['bin/ensure-web.js'], { stdio: 'pipe' });
  if (build.status !== 0) throw new Error(`building the UI failed: ${build.stderr.toString()}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-browser-'));
  const config = loadConfig({ data: dataDir, demoPeople: '2000', demoDays: '7' }, {});
  let started: Awaited<ReturnType<typeof startCordon>>;
  try {
    started = await startCordon(config);
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { runtime, demoUsers } = started;
  const { app } = await buildCordonServer(runtime, { log: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const users = new Map(demoUsers.map((u) => [u.user.username, u]));
  const officer = users.get('officer')!;
  // Pick a case whose household contacts live in the officer's precinct, so their commands reach the inbox.
  const people = readPeople(path.join(dataDir, 'demo-city'));
  const inPrecinct = people.filter((p) => p.jurisdiction.startsWith(officer.user.jurisdiction) && p.id.startsWith('id_card:'));
  const households = new Map<string, string[]>();
  for (const p of inPrecinct) households.set(p.address, [...(households.get(p.address) ?? []), p.id]);
  const household = [...households.values()].find((ids) => ids.length >= 2);
  if (!household) throw new Error('the generated city has no shared household in the officer\'s precinct');
  const browser = await launch(chromiumPath!);
  return {
    url, runtime, users, browser, dataDir, caseId: household[0], onset: addDays(config.demoStart, 4),
    close: async () => {
      await browser.close();
      await app.close();
      await runtime.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Logs a demo user in through the UI: one-time password, TOTP when the role needs it, then a new password. */
async function logIn(j: JourneyPage, w: World, username: string): Promise<void> {
  const demo = w.users.get(username)!;
  const { page } = j;
  await page.goto(w.url);
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(demo.oneTimePassword);
  if (demo.totpSecret) await page.locator('input[name=totp]').fill(totp(base32Decode(demo.totpSecret), Math.floor(Date.now() / 1000)));
  await j.shot('login');
  await page.locator('button[type=submit]').click();
  await page.locator('input[name=new]').waitFor();
  await page.locator('input[name=current]').fill(demo.oneTimePassword);
  await page.locator('input[name=new]').fill(NEW_PASSWORD);
  await page.locator('input[name=again]').fill(NEW_PASSWORD);
  await page.locator('button[type=submit]').click();
  await page.locator('header.topbar').waitFor();
}

async function kpi(page: Page, id: string): Promise<number> {
  return Number(await page.getByTestId(id).textContent());
}

describe.skipIf(!chromiumPath)('command center journeys in Chromium', () => {
  beforeAll(async () => { world = await setup(); }, 180_000);
  afterAll(async () => { await world?.close(); });

  let commanderPage: JourneyPage | undefined;

  it('a commander logs in with TOTP and sees the dashboard, its map and its curve drawn', async () => {
    const w = world!;
    const j = await openJourney(w.browser, 'commander-dashboard');
    commanderPage = j;
    await j.page.goto(w.url);
    await j.page.locator('input[name=username]').waitFor();
    expect(await unlabelledControls(j.page)).toEqual([]);
    await logIn(j, w, 'commander');
    await j.page.getByTestId('kpi-cases').waitFor();
    await j.page.waitForFunction(() => document.querySelector('.badge.live') !== null);
    await expectDrawn(j.page, 'dashboard-map', 20);
    await expectDrawn(j.page, 'epi-curve', 2);
    // Clicking a unit on the map shows its figures.
    const map = j.page.getByTestId('dashboard-map');
    const box = (await map.boundingBox())!;
    await map.click({ position: { x: box.width / 2, y: box.height / 2 } });
    await j.page.getByTestId('picked-unit').waitFor();
    await j.shot('dashboard');
    expect(await unlabelledControls(j.page)).toEqual([]);
    // The language follows the browser (zh-CN here) and switches on demand, labels and map included.
    expect(await j.page.locator('h1').textContent()).toBe('指挥大屏');
    await j.page.getByRole('combobox', { name: '语言' }).selectOption('en');
    await j.page.locator('h1', { hasText: 'Command dashboard' }).waitFor();
    await expectDrawn(j.page, 'dashboard-map', 20);
    await j.shot('dashboard-english');
    await j.page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
    await j.page.locator('h1', { hasText: '指挥大屏' }).waitFor();
    expect(j.errors).toEqual([]);
  });

  let commandsPushed = 0;

  it('an analyst records a case, traces it, sees contacts and the chain, and pushes the leads', async () => {
    const w = world!;
    const j = await openJourney(w.browser, 'analyst-trace', { locale: 'en-US' });
    await logIn(j, w, 'analyst');
    const { page } = j;
    await page.goto(`${w.url}/#/cases`);
    const form = page.getByTestId('new-case');
    await form.locator('input').first().fill(w.caseId);
    await form.locator('input[type=date]').first().fill(w.onset);
    await form.locator('input[type=checkbox]').uncheck();
    await j.shot('new-case');
    await form.locator('button[type=submit]').click();
    await page.waitForURL(/#\/case\//);
    await page.getByTestId('run-trace').click();
    await page.getByTestId('contacts-table').waitFor({ timeout: 30_000 });
    const rows = await page.getByTestId('contacts-table').locator('tbody tr').count();
    expect(rows).toBeGreaterThan(0);
    await expectDrawn(page, 'timeline', 4);
    await expectDrawn(page, 'chain-graph', 4);
    await expectDrawn(page, 'path-map', 20);
    await j.shot('trace');
    expect(await unlabelledControls(page)).toEqual([]);
    // Filtering the table to close contacts keeps only close contacts.
    await page.getByTestId('contacts-category').selectOption('close');
    const categories = await page.getByTestId('contacts-table').locator('tbody .tag').allTextContents();
    expect(categories.length).toBeGreaterThan(0);
    expect(new Set(categories)).toEqual(new Set(['Close contact']));
    await page.getByTestId('push').click();
    const pushed = page.getByTestId('pushed');
    await pushed.waitFor({ timeout: 30_000 });
    commandsPushed = Number(/(\d+) commands/.exec((await pushed.textContent()) ?? '')?.[1] ?? 0);
    expect(commandsPushed).toBeGreaterThan(0);
    await j.shot('pushed');
    // Opening the first case in the chain expands it; the canvas stays drawn.
    await page.getByTestId('chain-graph').focus();
    await page.keyboard.press('n');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await expectDrawn(page, 'chain-graph', 4);
    await j.shot('chain');
    // The person page masks identifiers until a reveal with a purpose (which the server audits).
    await page.locator('.facts a').first().click();
    await page.getByTestId('person-ids').waitFor();
    expect(await page.getByTestId('person-ids').textContent()).toContain('*');
    await page.getByLabel('Purpose of revealing').fill('verify identity before the home visit');
    await page.getByRole('button', { name: 'Reveal' }).click();
    await page.getByText('Revealed (audited)').waitFor();
    expect(await page.getByTestId('person-ids').textContent()).toContain(w.caseId);
    await j.shot('person-revealed');
    expect(j.errors).toEqual([]);
    await j.context.close();
  });

  it('a precinct officer on a phone accepts a command and files "tested positive"; the dashboard shows the new case live', async () => {
    const w = world!;
    expect(commandsPushed).toBeGreaterThan(0);
    const j = await openJourney(w.browser, 'officer-phone', { width: 390, height: 844, mobile: true });
    await logIn(j, w, 'officer');
    const { page } = j;
    // The commander's open dashboard has picked up the analyst's case by now (live); count from there.
    const c = commanderPage!;
    await c.page.waitForFunction(() => Number(document.querySelector('[data-testid=kpi-cases]')?.textContent) >= 1, undefined, { timeout: 30_000 });
    const casesBefore = await kpi(c.page, 'kpi-cases');
    await page.goto(`${w.url}/#/inbox`);
    const command = page.getByTestId('command').first();
    await command.waitFor({ timeout: 30_000 });
    await expect(command.getByTestId('countdown').textContent()).resolves.toMatch(/\d/);
    await j.shot('inbox');
    await command.getByRole('button', { name: '签收' }).click();
    await page.locator('[data-testid=command][data-state=accepted]').first().waitFor();
    const accepted = page.locator('[data-testid=command][data-state=accepted]').first();
    await accepted.getByRole('button', { name: '填写反馈' }).click();
    const form = accepted.getByTestId('feedback-form');
    await form.getByLabel('检测阳性').check();
    await form.getByLabel('体温（°C）').fill('38.2');
    await form.scrollIntoViewIfNeeded();
    await j.shot('feedback-form');
    expect(await unlabelledControls(page)).toEqual([]);
    // The form fits the phone: nothing wider than the viewport.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await form.getByRole('button', { name: '提交反馈' }).click();
    await page.getByText('反馈已提交').waitFor({ timeout: 30_000 });
    await j.shot('feedback-filed');
    // The officer finds a resident of the precinct by identifier; the answer is masked.
    await page.goto(`${w.url}/#/people`);
    await page.getByLabel('身份标识（类型:号码 或号码）').fill(w.caseId);
    await page.getByRole('button', { name: '查询' }).click();
    const found = page.getByTestId('people-table').locator('tbody tr');
    await found.first().waitFor();
    expect(await found.count()).toBe(1);
    expect(await found.first().textContent()).toContain('*');
    await j.shot('people-search');
    // Opened from search, the person's page asks for a purpose before anything about the person is read.
    await found.first().locator('a').click();
    const why = page.getByTestId('person-purpose');
    await why.waitFor();
    expect(await page.getByTestId('person-ids').count()).toBe(0);
    expect(await unlabelledControls(page)).toEqual([]);
    await j.shot('person-purpose');
    await why.getByLabel('本次查看目的').fill('上门核查前确认人员身份');
    await why.getByRole('button', { name: '打开页面' }).click();
    await page.getByTestId('person-ids').waitFor();
    expect(await page.getByTestId('person-ids').textContent()).toContain('*');
    await j.shot('person');
    expect(j.errors).toEqual([]);

    await c.page.waitForFunction((before) => Number(document.querySelector('[data-testid=kpi-cases]')?.textContent) > before, casesBefore, { timeout: 30_000 });
    expect(await kpi(c.page, 'kpi-cases')).toBe(casesBefore + 1);
    await expectDrawn(c.page, 'dashboard-map', 20);
    await c.shot('dashboard-new-case');
    expect(c.errors).toEqual([]);
  });

  it('an administrator uploads a file with a bad row, sees the summary and downloads the rejects; an auditor finds the reveal', async () => {
    const w = world!;
    const j = await openJourney(w.browser, 'admin-data-audit', { locale: 'en-US' });
    await logIn(j, w, 'admin');
    const { page } = j;
    await page.goto(`${w.url}/#/data`);
    const csv = [
      'id_kind,id_value,place_kind,place_id,start,end,sub,lat,lon,source',
      'phone,13900000001,venue,V-UPLOAD-1,2020-01-25T10:00:00+08:00,2020-01-25T11:00:00+08:00,,,,upload',
      'phone,13900000002,venue,V-UPLOAD-1,2020-01-25T10:30:00+08:00,2020-01-25T11:30:00+08:00,,,,upload',
      'phone,13900000003,venue,V-UPLOAD-1,2020-13-45T10:00:00+08:00,,,,,upload',
    ].join('\n') + '\n';
    await page.getByTestId('ingest-file').setInputFiles({ name: 'upload-test.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Ingest' }).click();
    const summary = page.getByTestId('ingest-summary');
    await summary.waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('ingest-read').textContent()).toBe('3');
    await j.shot('ingest-summary');
    expect(await unlabelledControls(page)).toEqual([]);
    const rejects = await page.getByTestId('rejects-link').getAttribute('href');
    const answer = await j.context.request.get(`${w.url}${rejects}`);
    expect(answer.ok()).toBe(true);
    const text = await answer.text();
    expect(text).toMatch(/\b4\b/); // the bad row is line 4 of the file
    expect(text).toContain('start');
    await page.goto(`${w.url}/#/admin`);
    await page.getByTestId('users-table').locator('tbody tr').first().waitFor();
    expect(await page.getByTestId('users-table').locator('tbody tr').count()).toBeGreaterThanOrEqual(7);
    await j.shot('admin');
    expect(await unlabelledControls(page)).toEqual([]);
    expect(j.errors).toEqual([]);
    await j.context.close();

    const a = await openJourney(w.browser, 'auditor', { locale: 'en-US' });
    await logIn(a, w, 'auditor');
    await a.page.goto(`${w.url}/#/admin`);
    await a.page.getByLabel('Action').fill('person.reveal');
    await a.page.getByRole('search').getByRole('button', { name: 'Search the audit trail' }).click();
    await a.page.waitForFunction(() => Number(/\d+/.exec(document.querySelector('[data-testid=audit-total]')?.textContent ?? '')?.[0]) >= 1);
    const rows = await a.page.getByTestId('audit-table').locator('tbody tr').allTextContents();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.join('\n')).toContain('verify identity before the home visit');
    // The reveal names the case it served: the person page was opened from the case workspace.
    expect(rows.join('\n')).toMatch(/C-[a-z0-9]+/);
    await a.shot('audit');
    // Every person page read is on the trail with its purpose: the analyst's from the case, the officer's from search.
    await a.page.getByLabel('Action').fill('person.read');
    await a.page.getByRole('search').getByRole('button', { name: 'Search the audit trail' }).click();
    await a.page.waitForFunction(() => (document.querySelector('[data-testid=audit-table]')?.textContent ?? '').includes('上门核查前确认人员身份'));
    const reads = (await a.page.getByTestId('audit-table').locator('tbody tr').allTextContents()).join('\n');
    expect(reads).toContain('person.read');
    expect(reads).toContain('Epidemiological investigation');
    expect(a.errors).toEqual([]);
    await a.context.close();
  });
});
