import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { fakePayerId } from '../../src/fusion/paymentProvider.js';
import type { Role } from '../../src/ledger/index.js';
import { ARTIFACTS, launchChromium } from '../support/chromium.js';
import { faceFrame, metricValue, pushFrames as pushFramesTo, standAtCounter, waitUntil } from '../support/frames.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * 支付即会员 as the cashier sees it, in a real browser against the real service: the scanner
 * reads a WeChat payment code, the payment makes the payer a member, the till asks for face
 * consent, the cashier taps 同意 and the service records the consent under the cashier's
 * name from the page settings; on the next visit the member is greeted by face and the
 * payment that lifts them to 黄金 shows the upgrade.
 */
describe('till page: payment, new member and face consent in Chromium', () => {
  let service: TestApp;
  let app: RunningApp;
  let browser: Browser;
  let page: Page;
  let tokens: Record<Role, string>;
  const problems: string[] = [];
  const AUTH_CODE_1 = '134567890123456789';
  const AUTH_CODE_2 = '139876543210456789'; // same last 6 digits: the fake provider's same payer

  beforeAll(async () => {
    service = await startTestApp('till-consent', {
      checkout: { consentPolicy: 'confirm', paymentProvider: 'local-fake' },
      membership: {
        tiers: [
          { name: '普通', discountRate: 1, minSpendYuan: 0 },
          { name: '黄金', discountRate: 0.9, minSpendYuan: 100 },
        ],
      },
    });
    ({ app, tokens } = service);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1024, height: 600 } });
    page.on('pageerror', (err) => problems.push(err.message));
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  const post = (route: string, body: unknown, role: Role) => postJson(`${app.url}${route}`, tokens[role], body);
  const pushFrames = async (file: string | undefined, count: number) =>
    pushFramesTo(app.url, 'lane1', tokens.device, await faceFrame(file), { count, intervalMs: 250 });
  const pay = (orderId: string, authCode: string, amount: number) =>
    post(
      '/api/payments',
      { orderId, lane: 'lane1', channel: 'wechat', appId: 'fake-app', payerId: fakePayerId('wechat', authCode), amount, paidAt: new Date().toISOString() },
      'pos',
    );
  const text = (testId: string) => page.getByTestId(testId).textContent();

  let memberId: string;

  it('asks the customer for consent after their first payment and records the cashier\'s 同意', async () => {
    await page.goto(`${app.url}/till/?lane=lane1&token=${tokens.till}`);
    await page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { timeout: 15_000 });
    // The cashier names themself once in the settings; consents are recorded under that name.
    await page.getByTestId('settings').click();
    await page.getByTestId('setup-cashier').fill('林收银');
    await page.getByTestId('setup-submit').click();
    await page.waitForSelector('[data-testid="connection-status"][data-state="connected"]', { timeout: 15_000 });

    const customer = standAtCounter(app.url, 'lane1', tokens.device, await faceFrame('amy/amy2.png'));
    // Tracked as unknown means she was described on several frames: enough to link her face.
    await waitUntil(async () => (await metricValue(app.url, tokens.admin, 'memberlens_unknown_faces_total{lane="lane1"}')) >= 1, 'the customer to be tracked');
    expect((await post('/api/lanes/lane1/scans', { code: AUTH_CODE_1 }, 'device')).status).toBe(200);
    await page.getByTestId('scan-status').waitFor({ state: 'visible' });
    expect(await text('scan-status')).toBe('已读取付款码 · 微信支付');

    const paid = await pay('o-1', AUTH_CODE_1, 58);
    await customer.leave();
    expect(paid.body).toMatchObject({ created: true, face: 'consent-requested' });
    memberId = paid.body.memberId;
    const member = (await (await fetch(`${app.url}/api/members/${memberId}`, { headers: bearer(tokens.admin) })).json()) as any;

    await page.getByTestId('payment-line').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await text('popup-name')).toBe(member.name);
    expect(await page.getByTestId('new-member-badge').isVisible()).toBe(true);
    expect(await text('payment-amount')).toBe('本单 ¥58.00');
    expect(await text('payment-points')).toBe('+58 积分');
    expect(await text('popup-points')).toBe('58');
    expect(await page.getByTestId('recent-item').first().getAttribute('data-member-id')).toBe(memberId);

    const dialog = page.getByTestId('consent-dialog');
    await dialog.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await text('consent-ask')).toContain(member.name);
    expect(await text('consent-countdown')).toMatch(/^剩余 \d+ 秒$/);
    // A stray Enter (a keyboard-wedge scanner, say) must not answer for the customer.
    await page.keyboard.press('Enter');
    await sleep(200);
    expect(await dialog.isVisible()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-consent.png') });

    await page.getByTestId('consent-agree').click();
    await page.waitForSelector('[data-testid="consent-result"][data-state="done"]', { timeout: 10_000 });
    expect(await text('consent-result')).toBe('已录入');
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-consent-enrolled.png') });
    await dialog.waitFor({ state: 'hidden', timeout: 5_000 });

    const after = (await (await fetch(`${app.url}/api/members/${memberId}`, { headers: bearer(tokens.admin) })).json()) as any;
    expect(after.faces).toHaveLength(1);
    expect(after.faceConsent).toMatchObject({ method: 'verbal-at-till', staff: '林收银' });
  });

  it('greets the member by face next time and shows the upgrade their payment earns', async () => {
    await pushFrames(undefined, 8); // the customer leaves
    const popup = page.getByTestId('popup');
    if (await popup.isVisible()) await page.getByTestId('popup-close').click(); // and the cashier clears the card
    const customer = standAtCounter(app.url, 'lane1', tokens.device, await faceFrame('amy/amy3.png')); // she comes back
    await page.waitForSelector('[data-testid="popup-confidence-line"]:not([hidden])', { timeout: 60_000 });
    expect(await page.getByTestId('popup').getAttribute('hidden')).toBeNull();
    expect(await text('popup-tier')).toBe('普通');
    // "新会员" belonged to the first visit.
    expect(await page.getByTestId('new-member-badge').isVisible()).toBe(false);

    await post('/api/lanes/lane1/scans', { code: AUTH_CODE_2 }, 'device');
    const paid = await pay('o-2', AUTH_CODE_2, 60);
    await customer.leave();
    expect(paid.body).toMatchObject({ memberId, face: 'confirmed', tier: '黄金' });
    await page.getByTestId('tier-upgrade').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await text('tier-upgrade')).toBe('升级为 黄金');
    // The "再消费¥…升黄金" prompt of the greeting is stale once the payment reached 黄金.
    expect(await page.locator('[data-testid="prompt"][data-kind="near-tier"]').count()).toBe(0);
    expect(await text('popup-tier')).toBe('黄金');
    expect(await text('popup-discount')).toBe('9折');
    expect(await text('payment-amount')).toBe('本单 ¥60.00');
    expect(await page.getByTestId('face-conflict').isVisible()).toBe(false);
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-upgrade.png') });

    await page.getByTestId('lang-switch').click();
    expect(await text('tier-upgrade')).toBe('Upgraded to 黄金');
    expect(await text('payment-points')).toBe('+60 points');
    await page.screenshot({ path: path.join(ARTIFACTS, 'till-upgrade-en.png') });
    expect(problems).toEqual([]);
  });

  it('gives the admin the member\'s signed member QR as text', async () => {
    const admin = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    admin.on('pageerror', (err) => problems.push(err.message));
    await admin.goto(`${app.url}/admin/`);
    await admin.getByTestId('login-token').fill(tokens.admin);
    await admin.getByTestId('login-submit').click();
    await admin.locator(`[data-testid="member-item"][data-member-id="${memberId}"]`).click();
    await admin.getByTestId('member-qr').click();
    await admin.getByTestId('member-qr-code').waitFor({ state: 'visible' });
    expect(await admin.getByTestId('member-qr-code').textContent()).toMatch(new RegExp(`^ML1\\.${memberId}\\.`));
    expect(await admin.getByTestId('member-qr-expires').textContent()).toContain('有效期至');
    await admin.screenshot({ path: path.join(ARTIFACTS, 'admin-member-qr.png') });
    expect(problems).toEqual([]);
  });
});
