import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { createLogger } from '../../src/core/logger.js';
import { cameraFrame } from '../../scripts/cameraFrames.js';

/** Debian's chromium (installed by .ci/run); no browser is ever downloaded. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');

/**
 * The cashier's view in a real headless browser: the till page served by the service, a
 * frame pushed to its lane, and the popup card showing the member.
 */
describe('till page in Chromium', () => {
  let dir: string;
  let app: RunningApp;
  let browser: Browser;
  let admin: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'memberlens-browser-'));
    app = await startApp(
      settingsSchema.parse({
        dataDir: dir,
        logLevel: 'silent',
        server: { port: 0 },
        inference: { workers: 1 },
        lanes: [{ id: 'lane1', camera: { kind: 'http-push' } }],
        demo: { seedFolder: '' },
        membership: { tiers: [{ name: '黄金', discountRate: 0.9, minSpendYuan: 0 }] },
      }),
      createLogger('silent'),
    );
    admin = app.firstStartTokens.find((t) => t.role === 'admin')!.token;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the recognized member\'s name and tier in the popup', async () => {
    const auth = { authorization: `Bearer ${admin}` };
    const created = await fetch(`${app.url}/api/members`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Amy Farrah' }),
    });
    const { id } = (await created.json()) as { id: string };
    const face = await fetch(`${app.url}/api/members/${id}/faces?consentMethod=written&staff=test`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/png' },
      body: readFileSync('test/fixtures/faces/amy/amy1.png'),
    });
    expect(face.status).toBe(201);

    const page = await browser.newPage({ viewport: { width: 1024, height: 600 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    const till = app.firstStartTokens.find((t) => t.role === 'till')!.token;
    await page.goto(`${app.url}/till/?lane=lane1&token=${till}`);
    await page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { timeout: 15_000 });

    const frame = await cameraFrame(readFileSync('test/fixtures/faces/amy/amy2.png'), { facePx: 220 });
    const device = app.firstStartTokens.find((t) => t.role === 'device')!.token;
    for (let i = 0; i < 6; i++) {
      await fetch(`${app.url}/api/lanes/lane1/frames`, {
        method: 'POST',
        headers: { authorization: `Bearer ${device}`, 'content-type': 'image/jpeg' },
        body: frame,
      });
      await new Promise((r) => setTimeout(r, 300));
    }
    const popup = page.getByTestId('popup');
    await popup.waitFor({ state: 'visible', timeout: 20_000 });
    expect(await page.getByTestId('popup-name').textContent()).toContain('Amy Farrah');
    expect(await page.getByTestId('popup-tier').textContent()).toContain('黄金');
    expect(await page.getByTestId('popup-discount').textContent()).toContain('9折');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-popup.png') });

    // The English switch relabels the card.
    await page.getByTestId('lang-switch').click();
    expect(await page.getByTestId('popup-discount').textContent()).toMatch(/10% off/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-popup-en.png') });
    expect(problems).toEqual([]);
  });
});
