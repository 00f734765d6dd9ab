/**
 * @module What the browser journeys share: Debian's Chromium through playwright-core, a page that
 * records console errors, screenshots into test-output/screenshots/<journey>/, and the check that a
 * map or chart canvas actually has something drawn on it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const SCREENSHOT_ROOT = path.resolve('test-output', 'screenshots');

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

export async function launch(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

export interface JourneyPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  /** Saves a numbered full-page screenshot into the journey's folder; returns its path. */
  shot(name: string): Promise<string>;
}

/** A fresh context (own cookies) with a viewport and locale; screenshots go to screenshots/<journey>/. */
export async function openJourney(browser: Browser, journey: string, opts: { width?: number; height?: number; locale?: string; mobile?: boolean } = {}): Promise<JourneyPage> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    locale: opts.locale ?? 'zh-CN',
    isMobile: opts.mobile ?? false,
    hasTouch: opts.mobile ?? false,
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  const dir = path.join(SCREENSHOT_ROOT, journey);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  return {
    context, page, errors,
    async shot(name: string) {
      const file = path.join(dir, `${String(++n).padStart(2, '0')}-${name}.png`);
      // Phone screenshots show what the phone shows; desktop ones the whole page.
      await page.screenshot({ path: file, fullPage: !(opts.mobile ?? false) });
      return file;
    },
  };
}

/**
 * How many distinct colours a canvas shows (sampled on a grid). A blank or single-colour canvas gives
 * 1 or 2; a drawn map or chart gives dozens.
 */
export async function canvasColours(page: Page, testId: string): Promise<number> {
  await page.getByTestId(testId).first().waitFor({ state: 'visible' });
  return page.getByTestId(testId).first().evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const ctx = c.getContext('2d');
    if (!ctx || c.width === 0 || c.height === 0) return 0;
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    const stepX = Math.max(1, Math.floor(c.width / 200)), stepY = Math.max(1, Math.floor(c.height / 150));
    for (let y = 0; y < c.height; y += stepY) {
      for (let x = 0; x < c.width; x += stepX) {
        const i = (y * c.width + x) * 4;
        seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      }
    }
    return seen.size;
  });
}

/** Throws when the canvas is blank (fewer than `min` distinct colours). */
export async function expectDrawn(page: Page, testId: string, min = 8): Promise<number> {
  const colours = await canvasColours(page, testId);
  if (colours < min) throw new Error(`canvas "${testId}" looks blank: ${colours} distinct colours`);
  return colours;
}

/**
 * Form controls, buttons and canvases without an accessible name (no enclosing label, no aria-label
 * or aria-labelledby, no text). Returns a short description of each, so a failure says which.
 */
export async function unlabelledControls(page: Page): Promise<string[]> {
  // Passed as source text: a transpiler may wrap named inner functions in helpers the page lacks.
  return page.evaluate(`(() => {
    const named = (el) => !!el.getAttribute('aria-label')?.trim() || !!el.getAttribute('aria-labelledby') || !!el.closest('label')
      || (el.id !== '' && document.querySelector('label[for="' + CSS.escape(el.id) + '"]') !== null);
    const out = [];
    for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, canvas')) {
      if (!named(el)) out.push(el.tagName.toLowerCase() + (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : ''));
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (!el.textContent?.trim() && !named(el) && !el.getAttribute('title')) out.push(el.outerHTML.slice(0, 80));
    }
    return out;
  })()`);
}
