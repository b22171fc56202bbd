import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../scripts/postgresCluster.js';
import { createLogger } from '../../src/core/logger.js';
import { startHq, withHqLedger, type RunningHq } from '../../src/hq/hqService.js';
import { ARTIFACTS, launchChromium, recordPageProblems } from '../support/chromium.js';
import { defaultSettings } from '../support/settings.js';

/**
 * The chain owner's page at HQ in Chromium, on a real PostgreSQL: two branches have synced a
 * day of members' sales, a third never has; the page shows the chain's figures and one row per
 * branch with its last sync and backlog, in Chinese and English, wide and on a 390 px phone.
 */
describe('HQ owner page in Chromium', () => {
  let postgres: PostgresCluster;
  let hq: RunningHq;
  let browser: Browser;
  let page: Page;
  let ownerToken: string;
  const problems: string[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    const settings = { ...defaultSettings.hq, databaseUrl: postgres.url, port: 0 };
    const tokens: Record<string, string> = {};
    await withHqLedger(settings, async (ledger) => {
      for (const id of ['baoshan', 'jingan', 'xuhui-new']) tokens[id] = (await ledger.addStore(id)).token;
      ownerToken = (await ledger.addOwnerToken('owner')).token;
    });
    hq = await startHq(settings, createLogger('silent'));
    // Two branches send their day: members join, pay (some twice), one refund.
    const now = Date.now();
    for (const [store, payments] of [['baoshan', 12], ['jingan', 5]] as const) {
      const events: unknown[] = [];
      let seq = 0;
      for (let i = 0; i < payments; i++) {
        const memberId = `m_${store}${i % 4}`;
        if (i < 4) events.push({ seq: ++seq, gid: `${store}:x${seq}`, kind: 'member', memberId, body: { name: `会员 ${i}`, phone: null, createdAtMs: now - 3600_000, updatedAtMs: now - 3600_000 } });
        events.push({ seq: ++seq, gid: `${store}:e${seq}`, kind: 'entry', memberId, body: { kind: 'spend', spendFen: 2800 + i * 100, points: 0, storedFen: 0, orderId: `${store}-${i}`, refId: null, lot: null, atMs: now - i * 60_000, recordedAtMs: now } });
      }
      const res = await fetch(`${hq.url}/api/chain/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[store]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events, backlog: store === 'jingan' ? events.length + 37 : events.length }),
      });
      expect(res.status).toBe(200);
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    recordPageProblems(page, problems);
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hq?.stop();
    await postgres?.stop();
  }, 60_000);

  it('signs in and shows the chain and every branch', async () => {
    await page.goto(`${hq.url}/`);
    await page.getByTestId('login-token').fill(ownerToken);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('store-baoshan').waitFor();
    const rows = await page.getByTestId('stores-body').locator('tr').allInnerTexts();
    expect(rows).toHaveLength(3);
    // baoshan: 12 payments of ¥28 + ¥1·i = 336 + 66 = ¥402.00 by 4 members, all of them twice or more.
    expect(rows[0]).toMatch(/baoshan\s+¥402\.00\s+12\s+4\s+100\.0%\s+4/);
    expect(rows[1]).toMatch(/jingan\s+¥150\.00\s+5\s+4\s+25\.0%\s+4/);
    expect(rows[1]).toMatch(/\s37$/); // the backlog it reported
    expect(rows[2]).toMatch(/xuhui-new\s+¥0\.00\s+0\s+0\s+—\s+0\s+从未同步\s+0/);
    expect(await page.getByTestId('card-sales').innerText()).toContain('¥552.00');
    await page.screenshot({ path: path.join(ARTIFACTS, 'hq-wide.png'), fullPage: true });
    await page.getByTestId('lang-switch').click();
    expect(await page.getByTestId('store-xuhui-new').innerText()).toContain('never');
    expect(await page.getByTestId('card-repeat').innerText()).toContain('Repeat rate');
    await page.screenshot({ path: path.join(ARTIFACTS, 'hq-wide-en.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('fits a 390 px phone: the table scrolls inside its panel, not the page', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.reload();
    await page.getByTestId('store-baoshan').waitFor();
    const widths: { page: number; viewport: number } = await page.evaluate('({ page: document.documentElement.scrollWidth, viewport: window.innerWidth })');
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    await page.screenshot({ path: path.join(ARTIFACTS, 'hq-narrow.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
