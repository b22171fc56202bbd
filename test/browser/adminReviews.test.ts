import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import type { Role } from '../../src/ledger/index.js';
import { ARTIFACTS, launchChromium, recordPageProblems } from '../support/chromium.js';
import { requestJson, startTestApp, type TestApp } from '../support/testApp.js';
import { fakePayerId } from '../../src/fusion/paymentProvider.js';
import { faceCrop as crop, faceFrame, standAtCounter } from '../support/frames.js';
import { recordingTill, type TillEvent } from '../support/till.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The admin page's checkout side in a real browser against the real service: the membership
 * summary on the member detail, a payment where Amy's face stood at the scanner while someone
 * else's payment code paid (flagged for review), withdrawing Amy's face consent (her face data
 * goes, her membership stays), and the processing-log export.
 */
describe('admin page: reviews, membership, consent withdrawal and log export in Chromium', () => {
  let service: TestApp;
  let dir: string;
  let app: RunningApp;
  let browser: Browser;
  let page: Page;
  let till: Socket;
  let tokens: Record<Role, string>;
  const problems: string[] = [];
  const events: TillEvent[] = [];
  const PAYER_CODE_1 = '134567890123456789';
  const PAYER_CODE_2 = '139876543210456789'; // same last 6 digits: the fake provider's same payer

  beforeAll(async () => {
    service = await startTestApp('admin-reviews', {
      checkout: { paymentProvider: 'local-fake' },
      membership: {
        tiers: [
          { name: '普通', discountRate: 1, minSpendYuan: 0 },
          { name: '黄金', discountRate: 0.9, minSpendYuan: 100 },
        ],
      },
    });
    ({ app, tokens, dir } = service);
    // The till's socket is how the test knows the lane has named Amy before her "payment".
    ({ socket: till } = await recordingTill(app.url, tokens.till, 'lane1', events));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    recordPageProblems(page, problems);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    till?.close();
    await browser?.close();
    await service?.stop();
  });

  const request = (method: string, route: string, role: Role, body?: unknown) => requestJson(`${app.url}${route}`, tokens[role], method, body);
  const pay = (orderId: string, code: string, amount: number) =>
    request('POST', '/api/payments', 'pos', {
      orderId,
      lane: 'lane1',
      channel: 'wechat',
      appId: 'fake-app',
      payerId: fakePayerId('wechat', code),
      amount,
      paidAt: new Date().toISOString(),
    });
  const eventsNamed = (name: string) => events.filter((e) => e.name === name).map((e) => e.payload);
  const waitFor = async (name: string, match: (payload: any) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const found = eventsNamed(name).find(match);
      if (found) return found;
      await sleep(100);
    }
    return undefined;
  };
  const text = (testId: string) => page.getByTestId(testId).textContent();

  let amyId: string;
  let payerId: string;

  it('shows the membership summary and an empty review list', async () => {
    const created = await request('POST', '/api/members', 'admin', { name: '周艾米', phone: '13800000001' });
    expect(created.status).toBe(201);
    amyId = created.body.id;
    const enrolled = await fetch(`${app.url}/api/members/${amyId}/faces?consentMethod=written&staff=t`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'image/png' },
      body: crop('amy/amy1.png'),
    });
    expect(enrolled.status).toBe(201);
    expect(
      (await request('POST', `/api/members/${amyId}/recharges`, 'pos', { rechargeId: 'r-1', amount: '50.00' })).status,
    ).toBe(201);
    // Nobody at the lane and no scan: the payer becomes a member of their own, with no face link.
    const paid = await pay('o-1', PAYER_CODE_1, 58);
    expect(paid.body).toMatchObject({ created: true, face: 'no-link', pointsEarned: 58 });
    payerId = paid.body.memberId;

    await page.goto(`${app.url}/admin/`);
    await page.getByTestId('login-token').fill(tokens.admin!);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('workspace').waitFor({ state: 'visible' });
    await page.getByTestId('review-empty').waitFor({ state: 'visible' });
    expect(await page.getByTestId('review-item').count()).toBe(0);
    expect(await text('review-empty')).toBe('没有待复核的付款');
    expect(await page.getByTestId('audit-export').isVisible()).toBe(true);

    await page.locator(`[data-testid="member-item"][data-member-id="${payerId}"]`).click();
    await expect.poll(() => text('member-id')).toBe(payerId);
    expect(await text('member-tier')).toBe('普通（无折扣）');
    expect(await text('member-points')).toBe('58');
    expect(await text('member-balance')).toBe('¥0.00');
    expect(await text('member-spend')).toBe('¥58.00');
    // No face consent, nothing to withdraw.
    expect(await page.getByTestId('withdraw-consent').isVisible()).toBe(false);

    await page.locator(`[data-testid="member-item"][data-member-id="${amyId}"]`).click();
    await expect.poll(() => text('member-id')).toBe(amyId);
    expect(await text('member-tier')).toBe('普通（无折扣）');
    expect(await text('member-points')).toBe('0');
    expect(await text('member-balance')).toBe('¥50.00');
    expect(await page.getByTestId('face-item').count()).toBe(1);
    expect(await page.getByTestId('withdraw-consent').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-membership.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('lists a payment where Amy\'s face stood at the scanner while another member paid', async () => {
    const amy = standAtCounter(app.url, 'lane1', tokens.device, await faceFrame('amy/amy2.png'));
    try {
      // The lane names Amy before the payment code is read.
      expect(await waitFor('member:recognized', (p) => p.memberId === amyId)).toBeDefined();
      expect((await request('POST', '/api/lanes/lane1/scans', 'device', { code: PAYER_CODE_2 })).body).toMatchObject({ kind: 'payment', memberId: payerId });
      const conflict = await pay('o-2', PAYER_CODE_2, 12);
      expect(conflict.body).toMatchObject({ memberId: payerId, face: 'conflict' });
    } finally {
      await amy.leave();
    }
    const reviews = (await request('GET', '/api/reviews', 'admin')).body.reviews;
    expect(reviews).toEqual([expect.objectContaining({ orderId: 'o-2', lane: 'lane1', faceMemberId: amyId, payerMemberId: payerId, memberId: payerId })]);

    await page.getByTestId('reviews-refresh').click();
    const item = page.getByTestId('review-item');
    await item.waitFor({ state: 'visible' });
    expect(await item.count()).toBe(1);
    expect(await page.getByTestId('review-empty').isVisible()).toBe(false);
    expect(await item.getAttribute('data-order-id')).toBe('o-2');
    expect(await text('review-lane')).toBe('lane1');
    expect(await text('review-order')).toBe('订单 o-2');
    expect(await text('review-what')).toBe(`刷脸识别为会员 ${amyId}，付款的却是会员 ${payerId}`);
    expect(await page.getByTestId('review-at').getAttribute('datetime')).toBe(reviews[0].at);

    await page.getByTestId('review-open-payer').click();
    await expect.poll(() => text('member-id')).toBe(payerId);
    expect(await text('member-points')).toBe('70');
    await page.getByTestId('review-open-face').click();
    await expect.poll(() => text('member-id')).toBe(amyId);
    expect(await page.locator(`[data-testid="member-item"][data-member-id="${amyId}"]`).getAttribute('class')).toContain('selected');
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-review.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('withdraws Amy\'s face consent: her faces are deleted, her membership stays', async () => {
    expect(await page.getByTestId('face-item').count()).toBe(1);
    await page.getByTestId('withdraw-consent').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'visible' });
    expect(await text('confirm-message')).toContain('周艾米');
    // Cancelling changes nothing.
    await page.getByTestId('confirm-cancel').click();
    await sleep(200);
    expect((await request('GET', `/api/members/${amyId}`, 'admin')).body.faces).toHaveLength(1);

    await page.getByTestId('withdraw-consent').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('admin-notice').waitFor({ state: 'visible' });
    expect(await text('admin-notice')).toBe('已撤回刷脸授权，已删除 1 张人脸。');
    await page.getByTestId('face-list-empty').waitFor({ state: 'visible' });
    expect(await page.getByTestId('face-item').count()).toBe(0);
    expect(await page.getByTestId('consent-status').getAttribute('data-consent')).toBe('missing');
    expect(await page.getByTestId('withdraw-consent').isVisible()).toBe(false);
    expect(await page.getByTestId('consent-fields').isVisible()).toBe(true);
    expect(await text('member-balance')).toBe('¥50.00');

    const member = (await request('GET', `/api/members/${amyId}`, 'admin')).body;
    expect(member.faces).toEqual([]);
    expect(member.faceConsent).toBeNull();
    expect(member.membership).toMatchObject({ balanceYuan: 50, tier: { name: '普通' } });
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-consent-withdrawn.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('exports the processing log with the admin token', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-export').click()]);
    expect(download.suggestedFilename()).toMatch(/^memberlens-audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const file = path.join(dir, 'export.csv');
    await download.saveAs(file);
    const csv = readFileSync(file, 'utf8');
    expect(csv.startsWith('\uFEFFat,actor,action,subject,details\r\n')).toBe(true);
    for (const action of ['consent.grant', 'review.flag', 'consent.withdraw', 'export']) expect(csv).toContain(`,${action},`);
    await page.getByTestId('admin-notice').waitFor({ state: 'visible' });
    expect(await text('admin-notice')).toContain(download.suggestedFilename());

    await page.getByTestId('lang-switch').click();
    expect(await text('withdraw-consent')).toBe('Withdraw face consent');
    expect(await text('audit-export')).toBe('Export processing log');
    expect(await text('review-what')).toBe(`Face matched member ${amyId} while member ${payerId} paid`);
    expect(await text('member-tier')).toBe('普通 (No discount)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-review-en.png'), fullPage: true });
    await page.getByTestId('lang-switch').click(); // leave the stored language as found
    expect(problems).toEqual([]);
  });
});
