import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import type { Role } from '../../src/ledger/index.js';
import { ARTIFACTS, launchChromium } from '../support/chromium.js';
import { faceCrop, faceFrame, standAtCounter } from '../support/frames.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';

/**
 * The cashier's view in a real headless browser: the till page served by the service, a
 * frame pushed to its lane, and the popup card showing the member.
 */
describe('till page in Chromium', () => {
  let service: TestApp;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let browser: Browser;

  beforeAll(async () => {
    service = await startTestApp('browser', {
      backup: { intervalHours: 24 }, // the default: this test runs with the daily backup, the first one at start
      membership: { tiers: [{ name: '黄金', discountRate: 0.9, minSpendYuan: 0 }] },
    });
    ({ app, tokens } = service);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('shows the recognized member\'s name and tier in the popup', async () => {
    const { id } = (await postJson(`${app.url}/api/members`, tokens.admin, { name: 'Amy Farrah' })).body as { id: string };
    const face = await fetch(`${app.url}/api/members/${id}/faces?consentMethod=written&staff=test`, {
      method: 'POST',
      headers: { ...bearer(tokens.admin), 'content-type': 'image/png' },
      body: faceCrop('amy/amy1.png'),
    });
    expect(face.status).toBe(201);

    const page = await browser.newPage({ viewport: { width: 1024, height: 600 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${app.url}/till/?lane=lane1&token=${tokens.till}`);
    await page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { timeout: 15_000 });

    const customer = standAtCounter(app.url, 'lane1', tokens.device, await faceFrame('amy/amy2.png'));
    const popup = page.getByTestId('popup');
    await popup.waitFor({ state: 'visible', timeout: 60_000 });
    await customer.leave();
    expect(await page.getByTestId('popup-name').textContent()).toContain('Amy Farrah');
    expect(await page.getByTestId('popup-tier').textContent()).toContain('黄金');
    expect(await page.getByTestId('popup-discount').textContent()).toContain('9折');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-popup.png') });

    // The English switch relabels the card.
    await page.getByTestId('lang-switch').click();
    await page.getByTestId('popup-discount').filter({ hasText: '10% off' }).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('popup-discount').textContent()).toMatch(/10% off/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-popup-en.png') });
    expect(problems).toEqual([]);
  });
});
