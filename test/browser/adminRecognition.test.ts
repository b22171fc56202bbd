import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { fakePayerId } from '../../src/fusion/paymentProvider.js';
import type { Role } from '../../src/ledger/index.js';
import type { OperatingPointView } from '../../src/services/recognitionHealth.js';
import { ARTIFACTS, launchChromium, recordPageProblems } from '../support/chromium.js';
import { faceCrop, faceFrame, standAtCounter } from '../support/frames.js';
import { requestJson, startTestApp, type TestApp } from '../support/testApp.js';
import { recordingTill, type TillEvent } from '../support/till.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Short, so that one customer's face is out of the next payment's window after a few seconds. */
const SCAN_WINDOW_MS = 1_000;

/**
 * The admin page's Recognition panel and the member detail's face-coverage warning in a real
 * browser against the real service: the operating point as the API gives it, the empty state
 * before any member with a face has paid, then one member visit named at the scanner and one
 * where a stranger stood there while the member's code paid; a member enrolled with one photo,
 * then the same photo again, then a photo from another day.
 */
describe('admin page: recognition panel and face coverage in Chromium', () => {
  let service: TestApp;
  let app: RunningApp;
  let browser: Browser;
  let page: Page;
  let till: Socket;
  let tokens: Record<Role, string>;
  const problems: string[] = [];
  const events: TillEvent[] = [];
  const AMY_CODE_1 = '134567890123456789';
  const AMY_CODE_2 = '139876543210456789'; // same last 6 digits: the fake provider's same payer
  const AMY_CODE_3 = '131111111111456789';

  beforeAll(async () => {
    service = await startTestApp('admin-recognition', { checkout: { paymentProvider: 'local-fake', scanWindowMs: SCAN_WINDOW_MS } });
    ({ app, tokens } = service);
    ({ socket: till } = await recordingTill(app.url, tokens.till, 'lane1', events));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    recordPageProblems(page, problems);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    till?.close();
    await browser?.close();
    await service?.stop();
  });

  const request = (method: string, route: string, role: Role, body?: unknown) => requestJson(`${app.url}${route}`, tokens[role], method, body);
  const pay = (orderId: string, code: string) =>
    request('POST', '/api/payments', 'pos', {
      orderId,
      lane: 'lane1',
      channel: 'wechat',
      appId: 'fake-app',
      payerId: fakePayerId('wechat', code),
      amount: 20,
      paidAt: new Date().toISOString(),
    });
  const enroll = (memberId: string, file: string) =>
    fetch(`${app.url}/api/members/${memberId}/faces?consentMethod=written&staff=t`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'image/png' },
      body: faceCrop(file),
    }).then((res) => res.status);
  const waitFor = async (name: string, match: (payload: any) => boolean) => {
    for (let i = 0; i < 300; i++) {
      const found = events.find((e) => e.name === name && match(e.payload));
      if (found) return found.payload;
      await sleep(100);
    }
    return undefined;
  };
  const operatingPoint = async () => (await request('GET', '/api/recognition/operating-point', 'admin')).body as OperatingPointView;
  const text = (testId: string) => page.getByTestId(testId).textContent();
  const percent = (share: number) => new Intl.NumberFormat('en', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(share);
  /** What the page must show of a bucket: its size range, threshold and the share of members named. */
  const expectedRows = (view: OperatingPointView, notNamed: string, px: string) =>
    view.buckets.map((b, i) => [
      i === view.buckets.length - 1 ? `≥ ${b.facePxMin} ${px}` : `${b.facePxMin}–${b.facePxMax - 1} ${px}`,
      b.threshold === null ? notNamed : b.threshold.toFixed(3),
      percent(b.expectedTrueAcceptRate),
    ]);
  const shownRows = () =>
    page.getByTestId('recognition-bucket').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent)));

  let amyId: string;
  let pennyId: string;

  it('shows the operating point, and says no member with a face has paid yet', async () => {
    // Amy becomes a member by paying, with nobody at the lane; then her face is enrolled.
    const paid = await pay('o-1', AMY_CODE_1);
    expect(paid.body).toMatchObject({ created: true, face: 'no-link' });
    amyId = paid.body.memberId;
    expect(await enroll(amyId, 'amy/amy1.png')).toBe(201);

    const view = await operatingPoint();
    expect(view.membersWithFaces).toBe(1);
    expect(view.falseNamingPerVisit).toBe(0.0001);
    expect(view.buckets.length).toBeGreaterThan(0);
    expect(view.memberVisitsUnknown).toMatchObject({ confirmed: 0, unknown: 0, share: null });
    // The payment before her face was enrolled is not a member visit the camera could name.

    await page.goto(`${app.url}/admin/`);
    await page.getByTestId('login-token').fill(tokens.admin!);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('recognition-body').waitFor({ state: 'visible' });
    expect(await text('recognition-members')).toBe('1');
    expect(await text('recognition-budget')).toBe('每 10,000 次到店至多 1 次');
    expect(await text('recognition-smallest-face')).toBe(view.smallestNamedFacePx === null ? '任何大小的人脸都不识别' : `${view.smallestNamedFacePx} 像素`);
    expect(await shownRows()).toEqual(expectedRows(view, '不识别', '像素'));
    expect(await page.getByTestId('recognition-unknown').isVisible()).toBe(false);
    expect(await text('recognition-unknown-note')).toMatch(/^自服务启动（.+）以来，还没有已录入人脸的会员付款。$/);
    expect(await text('recognition-calibration')).toContain(view.calibration.sets[0] ?? '—');
    await page.getByTestId('recognition').screenshot({ path: path.join(ARTIFACTS, 'admin-recognition-empty.png') });
    expect(problems).toEqual([]);
  });

  it('counts a member named at the scanner and a visit where the face there stayed unknown', async () => {
    // Amy at the counter: named, then her code pays.
    const amy = standAtCounter(app.url, 'lane1', tokens.device, await faceFrame('amy/amy2.png'));
    try {
      expect(await waitFor('member:recognized', (p) => p.memberId === amyId)).toBeDefined();
      expect((await request('POST', '/api/lanes/lane1/scans', 'device', { code: AMY_CODE_2 })).body).toMatchObject({ kind: 'payment', memberId: amyId });
      expect((await pay('o-2', AMY_CODE_2)).body).toMatchObject({ memberId: amyId, face: 'confirmed' });
    } finally {
      await amy.leave();
    }
    // Her face has left the lane and the next payment's window.
    expect(await waitFor('member:left', (p) => p.memberId === amyId)).toBeDefined();
    await sleep(SCAN_WINDOW_MS * 2);

    // Someone else stands at the counter while Amy's code pays (a family member with her phone).
    const unknownBefore = events.filter((e) => e.name === 'face:unknown').length;
    const stranger = standAtCounter(app.url, 'lane1', tokens.device, await faceFrame('howard/howard1.png'));
    try {
      for (let i = 0; i < 300 && events.filter((e) => e.name === 'face:unknown').length === unknownBefore; i++) await sleep(100);
      expect(events.filter((e) => e.name === 'face:unknown').length).toBeGreaterThan(unknownBefore);
      expect((await request('POST', '/api/lanes/lane1/scans', 'device', { code: AMY_CODE_3 })).body).toMatchObject({ kind: 'payment', memberId: amyId });
      expect((await pay('o-3', AMY_CODE_3)).body).toMatchObject({ memberId: amyId, face: 'no-link' });
    } finally {
      await stranger.leave();
    }

    const view = await operatingPoint();
    expect(view.memberVisitsUnknown).toMatchObject({ confirmed: 1, unknown: 1, share: 0.5 });

    await page.getByTestId('recognition-refresh').click();
    await page.getByTestId('recognition-unknown').waitFor({ state: 'visible' });
    expect(await text('recognition-unknown')).toBe('50.0%（2 次中 1 次）');
    expect(await text('recognition-unknown-note')).toMatch(/^自服务启动（.+）以来，已录入人脸的会员付款时，收银台前的人脸未被认出为本人的比例。$/);
    expect(await text('recognition-members')).toBe(String(view.membersWithFaces));
    expect(await shownRows()).toEqual(expectedRows(view, '不识别', '像素'));
    await page.getByTestId('recognition').screenshot({ path: path.join(ARTIFACTS, 'admin-recognition.png') });

    await page.getByTestId('lang-switch').click();
    expect(await text('recognition-budget')).toBe('at most 1 in 10,000 visits');
    expect(await text('recognition-unknown')).toBe('50.0% (1 of 2 visits)');
    expect(await text('recognition-unknown-note')).toMatch(/^Since the service started \(.+\): payments by members with an enrolled face where the face at the scanner was not named as them\.$/);
    expect(await shownRows()).toEqual(expectedRows(view, 'not named', 'px'));
    await page.getByTestId('recognition').screenshot({ path: path.join(ARTIFACTS, 'admin-recognition-en.png') });
    await page.getByTestId('lang-switch').click(); // leave the stored language as found

    // On a phone the panels stack and nothing of this one or the lanes table runs off the side.
    const phoneWidth = 390;
    await page.setViewportSize({ width: phoneWidth, height: 844 });
    const wide = await page
      // The lanes table may scroll inside its panel; the panel and its parts must fit.
      .locator('[data-testid="recognition"], [data-testid="recognition"] *, [data-testid="lanes"], [data-testid="lanes"] > *')
      .evaluateAll((elements, width) =>
        elements
          .filter((el) => el.getClientRects().length > 0 && el.getBoundingClientRect().right > width + 1)
          .map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`),
        phoneWidth,
      );
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-recognition-narrow-page.png'), fullPage: true });
    expect(wide).toEqual([]);
    await page.getByTestId('recognition').screenshot({ path: path.join(ARTIFACTS, 'admin-recognition-narrow.png') });
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(problems).toEqual([]);
  });

  it('warns on a member with one photo, or the same photo twice, until another view is added', async () => {
    const created = await request('POST', '/api/members', 'admin', { name: '王小佩' });
    expect(created.status).toBe(201);
    pennyId = created.body.id;
    const open = async () => {
      await page.getByTestId('search-submit').click();
      await page.locator(`[data-testid="member-item"][data-member-id="${pennyId}"]`).click();
      await expect.poll(() => text('member-id')).toBe(pennyId);
    };
    const warning = page.getByTestId('face-coverage-warning');

    // No face yet: the empty face list says so, no second warning.
    await open();
    expect((await request('GET', `/api/members/${pennyId}`, 'admin')).body.faceCoverage).toMatchObject({ faces: 0, warning: 'no-face' });
    expect(await page.getByTestId('face-list-empty').isVisible()).toBe(true);
    expect(await warning.isVisible()).toBe(false);

    expect(await enroll(pennyId, 'penny/penny1.png')).toBe(201);
    expect((await request('GET', `/api/members/${pennyId}`, 'admin')).body.faceCoverage).toEqual({
      faces: 1,
      warning: 'single-face',
      message: 'one photo: add one or two more from another day or angle so the member is named reliably',
    });
    await open();
    await warning.waitFor({ state: 'visible' });
    expect(await warning.getAttribute('data-warning')).toBe('single-face');
    expect(await warning.textContent()).toBe('只有一张照片：请再从其他日期或角度补录一两张，会员才能被稳定认出。');
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-face-single.png'), fullPage: true });

    // The same photo uploaded again: two faces, but in effect one.
    expect(await enroll(pennyId, 'penny/penny1.png')).toBe(201);
    expect((await request('GET', `/api/members/${pennyId}`, 'admin')).body.faceCoverage).toMatchObject({ faces: 2, warning: 'faces-too-alike' });
    await open();
    await expect.poll(() => warning.getAttribute('data-warning')).toBe('faces-too-alike');
    expect(await page.getByTestId('face-item').count()).toBe(2);
    expect(await warning.textContent()).toBe('已录入的人脸几乎是同一张照片：请再从其他日期或角度补录一两张，会员才能被稳定认出。');
    await page.getByTestId('lang-switch').click();
    expect(await warning.textContent()).toBe('The faces are nearly the same photo: add one or two from another day or angle so the member is named reliably.');
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-face-too-alike-en.png'), fullPage: true });
    await page.getByTestId('lang-switch').click();

    // A photo from another day: the member has two views now.
    expect(await enroll(pennyId, 'penny/penny3.png')).toBe(201);
    expect((await request('GET', `/api/members/${pennyId}`, 'admin')).body.faceCoverage).toEqual({ faces: 3, warning: null, message: null });
    await open();
    await expect.poll(() => warning.isVisible()).toBe(false);

    // Two members have faces now.
    await page.getByTestId('recognition-refresh').click();
    await expect.poll(() => text('recognition-members')).toBe('2');
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-recognition-page.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
