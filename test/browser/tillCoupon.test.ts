import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import type { Role } from '../../src/ledger/index.js';
import { ARTIFACTS, launchChromium, recordPageProblems } from '../support/chromium.js';
import { postJson, requestJson, startTestApp, type TestApp } from '../support/testApp.js';

const DAY = 86_400_000;

/**
 * The dormant member's welcome-back coupon as the cashier sees it, in a real browser against
 * the real service: their member QR is scanned, the card shows the prompt to say aloud, one tap
 * applies the coupon, and the member's payment at the lane takes it off.
 */
describe('till page: a campaign prompt and its coupon in one tap, in Chromium', () => {
  let service: TestApp;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let seq = 0;

  const pay = (amount: string, paidAtMs = Date.now()) =>
    postJson(`${app.url}/api/payments`, tokens.pos, {
      orderId: `tc-${++seq}`,
      lane: 'lane1',
      channel: 'wechat',
      appId: 'tc-app',
      payerId: 'zhang-payer',
      amount,
      paidAt: new Date(paidAtMs).toISOString(),
    });

  beforeAll(async () => {
    service = await startTestApp('till-coupon');
    ({ app, tokens } = service);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1024, height: 600 } });
    recordPageProblems(page, problems);
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('shows the dormant-welcome prompt, applies the coupon with one tap, and the payment takes it off', async () => {
    const now = Date.now();
    const memberId = (await pay('88.00', now - 104 * DAY)).body.memberId as string;
    await pay('88.00', now - 102 * DAY);
    await pay('88.00', now - 100 * DAY);

    await page.goto(`${app.url}/till/?lane=lane1&token=${tokens.till}`);
    await page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { timeout: 15_000 });

    const qr = await requestJson(`${app.url}/api/members/${memberId}/qr`, tokens.admin, 'GET');
    expect((await postJson(`${app.url}/api/lanes/lane1/scans`, tokens.device, { code: qr.body.code })).status).toBe(200);
    const welcome = page.locator('[data-testid="prompt"][data-kind="dormant-welcome"]');
    await welcome.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await welcome.textContent()).toContain('100天未到店，送您¥10回归券');
    // No private data on the card: no phone, no payer id.
    expect(await page.getByTestId('popup').textContent()).not.toMatch(/zhang-payer|1[3-9]\d{9}/);
    // Every prompt fits on the card: its bottom is inside the card, which is inside the window.
    await page.waitForTimeout(500); // the card's entrance animation
    const card = (await page.getByTestId('popup').boundingBox())!;
    for (const prompt of await page.getByTestId('prompt').all()) {
      const box = (await prompt.boundingBox())!;
      expect(box.y + box.height).toBeLessThanOrEqual(card.y + card.height);
    }
    expect(card.y + card.height).toBeLessThanOrEqual(600);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-prompt-dormant.png') });

    await welcome.getByTestId('apply-coupon').click();
    await welcome.locator('.prompt-applied').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await welcome.textContent()).toContain('已选用，收款时抵扣');
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-prompt-applied.png') });

    // The POS sends the order as usual; the coupon the cashier tapped is taken off it.
    const paid = await pay('120.00');
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.coupon).toMatchObject({ title: '回归券', orderYuan: 120, discountYuan: 10, paidYuan: 110 });
    await page.getByTestId('payment-coupon').filter({ hasText: '回归券' }).waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.getByTestId('payment-amount').textContent()).toContain('110');
    expect(await page.locator('[data-testid="prompt"][data-kind="dormant-welcome"]').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-prompt-paid.png') });

    // The English switch relabels the prompts too.
    await page.getByTestId('lang-switch').click();
    await page.getByTestId('payment-coupon').filter({ hasText: 'off' }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-prompt-paid-en.png') });
    expect(problems).toEqual([]);
  });
});
