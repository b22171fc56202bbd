import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/ledger/index.js';
import { ARTIFACTS, launchChromium, recordPageProblems } from '../support/chromium.js';
import { postJson, requestJson, startTestApp, type TestApp } from '../support/testApp.js';

const DAY_MS = 86_400_000;
const CHARTS = ['sales', 'growth', 'repeat', 'frequency', 'rfm', 'tiers', 'recency', 'coupons', 'lanes', 'heatmap', 'liability'];

/**
 * The owner's dashboard in Chromium against the real service: first with nothing recorded
 * (every chart says what will appear), then with five weeks of a small shop — members paying by
 * WeChat and Alipay at all hours, cash customers, refunds, a recharge spent, a coupon batch
 * partly redeemed, faces seen at two lanes — where every chart must draw something, a click on
 * an RFM segment lists its members and sends them a coupon, wide and on a 390 px phone.
 */
describe('dashboard page in Chromium', () => {
  let service: TestApp;
  let browser: Browser;
  let page: Page;
  let tokens: Record<Role, string>;
  let url: string;
  const problems: string[] = [];

  beforeAll(async () => {
    service = await startTestApp('dashboard', {
      lanes: [
        { id: 'lane1', camera: { kind: 'http-push' } },
        { id: 'lane2', camera: { kind: 'http-push' } },
      ],
    });
    ({ tokens } = service);
    url = service.app.url;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    recordPageProblems(page, problems);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  const post = async (route: string, role: Role, body: unknown) => {
    const res = await postJson(`${url}${route}`, tokens[role], body);
    expect(res.status, `${route}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    return res.body;
  };

  async function signIn(): Promise<void> {
    await page.goto(`${url}/admin/dashboard.html`);
    await page.getByTestId('login-token').fill(tokens.admin);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('dashboard').waitFor();
  }

  /** Every chart section's state as the page marks it: drawn, empty, or not yet (absent). */
  function chartStates(): Promise<Record<string, string | undefined>> {
    return page.evaluate(`Object.fromEntries(${JSON.stringify(CHARTS)}.map((n) => [n, document.querySelector('[data-testid="chart-' + n + '"]').dataset.state]))`);
  }

  /** Distinct colours on each chart's canvas, every 4th pixel: an empty canvas has one (or none). */
  function canvasColours(): Promise<Record<string, number>> {
    return page.evaluate(`(() => {
      const counts = {};
      for (const name of ${JSON.stringify(CHARTS)}) {
        const canvas = document.querySelector('[data-testid="chart-' + name + '"] canvas');
        if (!canvas || canvas.width === 0 || canvas.height === 0) { counts[name] = 0; continue; }
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        for (let i = 0; i < pixels.length; i += 16) colours.add((pixels[i] << 24) | (pixels[i + 1] << 16) | (pixels[i + 2] << 8) | pixels[i + 3]);
        counts[name] = colours.size;
      }
      return counts;
    })()`);
  }

  const drawnCharts = async () => Object.values(await chartStates()).filter((s) => s === 'drawn').length;

  it('says what each chart will show before anything is recorded', async () => {
    await signIn();
    await expect.poll(async () => Object.values(await chartStates()).filter((s) => s === 'empty').length).toBe(CHARTS.length);
    const sentences = await page.locator('.chart-panel .empty').allTextContents();
    expect(sentences).toHaveLength(CHARTS.length);
    for (const sentence of sentences) expect(sentence.length).toBeGreaterThan(15);
    await expect.poll(() => page.getByTestId('kpi-repeat-rate').locator('.value').textContent()).toBe('—');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-empty.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('draws every chart from a seeded history', async () => {
    const now = Date.now();
    const at = (daysAgo: number, hour: number) => {
      const d = new Date(now - daysAgo * DAY_MS);
      d.setHours(hour, 17, 0, 0);
      return Math.min(d.getTime(), now - 60_000);
    };
    const payers = ['amy', 'bo', 'cy', 'dee', 'eve', 'fan', 'gu', 'hui', 'ivy', 'jun', 'kai', 'lin'];
    let order = 0;
    const memberIds = new Map<string, string>();
    // Regulars come back often, the rest once or twice: a spread of visits, segments and tiers.
    for (let daysAgo = 34; daysAgo >= 0; daysAgo--) {
      for (const [i, payer] of payers.entries()) {
        if ((daysAgo + i) % (i < 3 ? 3 : i < 6 ? 9 : 31) !== 0) continue;
        const amount = 20 + ((i * 37 + daysAgo * 11) % 300) + (i === 0 ? 1500 : 0);
        const body = await post('/api/payments', 'pos', {
          orderId: `o-${order++}`, lane: i % 2 ? 'lane2' : 'lane1', channel: i % 3 ? 'wechat' : 'alipay', appId: 'shop', payerId: payer, amount,
          paidAt: new Date(at(daysAgo, 8 + ((i * 5 + daysAgo) % 13))).toISOString(),
        });
        memberIds.set(payer, body.memberId);
      }
      if (daysAgo % 2 === 0) {
        await post('/api/payments', 'pos', { orderId: `cash-${daysAgo}`, lane: 'lane1', channel: 'cash', amount: 15 + daysAgo, paidAt: new Date(at(daysAgo, 12)).toISOString() });
      }
    }
    await post('/api/payments/o-3/refunds', 'pos', { refundId: 'r-1', amount: 5 });
    await post('/api/payments/cash-4/refunds', 'pos', { refundId: 'r-2', amount: 19 });
    const amy = memberIds.get('amy')!;
    await post(`/api/members/${amy}/recharges`, 'pos', { rechargeId: 'rc-1', amount: 500 });
    await post(`/api/members/${amy}/deductions`, 'pos', { orderId: 'sv-1', amount: 120, confirmation: { method: 'till-confirm', staff: 'Li' } });
    await post('/api/members', 'admin', { name: '王芳' });
    // A coupon batch to two tagged members; one is used.
    for (const payer of ['amy', 'bo']) await post(`/api/members/${memberIds.get(payer)}/tags`, 'admin', { tag: 'vip' });
    await post('/api/coupons/batches', 'admin', { batchId: 'vip-1', segment: { tag: 'vip' }, coupon: { title: '老客券', amountOffYuan: 10, minSpendYuan: 50, validDays: 14 } });
    const coupons = await requestJson(`${url}/api/members/${amy}/coupons`, tokens.admin, 'GET');
    await post('/api/payments', 'pos', {
      orderId: 'with-coupon', lane: 'lane1', channel: 'alipay', appId: 'shop', payerId: 'amy', amount: 120, paidAt: new Date(now - 30_000).toISOString(), couponId: coupons.body.coupons[0].couponId,
    });
    // Faces at the two lanes, as the recognition reporter and the checkout count them.
    const { store } = service.app.core;
    store.inTransaction(() => {
      for (let daysAgo = 20; daysAgo >= 0; daysAgo -= 2) {
        store.rollups.recognized('lane1', memberIds.get('bo')!, at(daysAgo, 18));
        store.rollups.recognized('lane2', memberIds.get('cy')!, at(daysAgo, 10));
        store.rollups.unknownFace('lane1', at(daysAgo, 15));
        if (daysAgo % 4 === 0) store.rollups.faceLinkedPayment('lane2', at(daysAgo, 10));
      }
    });

    await page.reload();
    await page.getByTestId('dashboard').waitFor();
    await page.getByRole('button', { name: '近 90 天' }).click();
    await expect.poll(drawnCharts, { timeout: 10_000 }).toBe(CHARTS.length);
    const colours = await canvasColours();
    for (const name of CHARTS) expect(colours[name], `${name} canvas: ${JSON.stringify(colours)}`).toBeGreaterThan(8);

    // The KPI cards read like money and shares: ¥ with thousands separators, one decimal.
    expect(await page.getByTestId('kpi-member-share').locator('.value').textContent()).toMatch(/^\d{1,3}\.\d%$/);
    expect(await page.getByTestId('kpi-average-ticket').locator('.value').textContent()).toMatch(/^¥[\d,]+\.\d{2} \/ ¥[\d,]+\.\d{2}$/);
    expect(await page.getByTestId('kpi-member-share').locator('.sub').textContent()).toMatch(/¥\d{1,3}(,\d{3})+\.\d{2}/);
    expect(await page.getByTestId('coupon-sales').textContent()).toContain('¥110.00');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-wide.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('opens the members of a clicked RFM segment and sends them a coupon batch', async () => {
    const treemap = page.getByTestId('chart-rfm').locator('canvas');
    await treemap.scrollIntoViewIfNeeded();
    const box = (await treemap.boundingBox())!;
    // A treemap tiles the whole area: a point a quarter in lies inside some segment (the centre may be a border).
    await page.mouse.click(box.x + box.width / 4, box.y + box.height / 2);
    const panel = page.getByTestId('segment-panel');
    await panel.waitFor();
    const segment = await panel.getAttribute('data-segment');
    const listed = await page.getByTestId('segment-member').allTextContents();
    const fromApi = await requestJson(`${url}/api/members?rfm=${segment}&limit=100`, tokens.admin, 'GET');
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.sort()).toEqual(fromApi.body.members.map((m: { name: string }) => m.name).sort());
    await page.getByTestId('segment-panel').screenshot({ path: path.join(ARTIFACTS, 'dashboard-segment.png') });

    const issuedBefore = await requestJson(`${url}/api/analytics/overview?from=2000-01-01&to=2000-01-02`, tokens.admin, 'GET');
    expect(issuedBefore.status).toBe(200);
    await page.getByTestId('batch-submit').click();
    await expect.poll(() => page.getByTestId('admin-notice').textContent()).toContain(`已发放 ${listed.length} 张`);
    const coupons = await requestJson(`${url}/api/members/${fromApi.body.members[0].id}/coupons`, tokens.admin, 'GET');
    expect(coupons.body.coupons.some((c: { title: string }) => c.title === '回归券')).toBe(true);
    expect(problems).toEqual([]);
  });

  it('fits a 390 px phone and switches to English', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.getByTestId('dashboard').waitFor();
    await expect.poll(drawnCharts, { timeout: 10_000 }).toBe(CHARTS.length);
    const colours = await canvasColours();
    for (const name of CHARTS) expect(colours[name], `${name} canvas at 390 px`).toBeGreaterThan(8);
    const widths: { page: number; viewport: number } = await page.evaluate('({ page: document.documentElement.scrollWidth, viewport: window.innerWidth })');
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-narrow.png'), fullPage: true });

    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.getByTestId('chart-sales').locator('h2').textContent()).toBe('Daily sales (members / non-members)');
    expect(await page.getByTestId('kpi-repeat-rate').locator('h2').textContent()).toBe('Repeat rate');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-wide-en.png'), fullPage: true });
    await page.getByTestId('lang-switch').click();
    expect(problems).toEqual([]);
  });
});
