import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import type { Role } from '../../src/ledger/index.js';
import { ARTIFACTS, launchChromium, recordPageProblems } from '../support/chromium.js';
import { startMessageReceiver, type MessageReceiver } from '../support/messageReceiver.js';
import { requestJson, startTestApp, type TestApp } from '../support/testApp.js';

const SECRET = 'browser-test-shop-secret-0123456789abcdef';
const DAY = 86_400_000;

/**
 * The owner's Members view in a real browser against the real service: members counted by
 * lifecycle, RFM segment and tag; a segment's members listed; a coupon batch and a message
 * (delivered to the local fake provider on 127.0.0.1) sent to that segment; the campaign rules
 * edited and saved; zh-CN with the English switch; nothing runs off a 390 px phone screen.
 */
describe('admin page: member segments, coupons and messages to a segment, campaign rules in Chromium', () => {
  let service: TestApp;
  let receiver: MessageReceiver;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const vip: string[] = [];

  const request = (method: string, route: string, role: Role, body?: unknown) => requestJson(`${app.url}${route}`, tokens[role], method, body);
  const text = (testId: string) => page.getByTestId(testId).textContent();

  beforeAll(async () => {
    receiver = await startMessageReceiver(SECRET);
    service = await startTestApp('admin-segments', {
      messaging: { providerUrl: receiver.url, webhookSecret: SECRET, deliverEveryMs: 50, retryBaseDelayMs: 50, retryMaxDelayMs: 200 },
    });
    ({ app, tokens } = service);
    // Two VIPs who joined today (new), one of them without a phone; a plain new member.
    for (const [name, phone] of [['林小雨', '13800000001'], ['Alexander Konstantinopoulos-Weatherby', null], ['周一', '13800000003']] as const) {
      const created = await request('POST', '/api/members', 'admin', { name, phone });
      expect(created.status).toBe(201);
      if (name !== '周一') {
        vip.push(created.body.id);
        expect((await request('POST', `/api/members/${created.body.id}/tags`, 'admin', { tag: 'VIP' })).status).toBe(201);
      }
    }
    // A payer who bought four times this month (loyal, important-value), one who bought twice, last 100 days ago (dormant).
    const pay = (orderId: string, payerId: string, amount: number, agoDays: number) =>
      request('POST', '/api/payments', 'pos', {
        orderId,
        lane: 'lane1',
        channel: 'wechat',
        appId: 'wx-shop',
        payerId,
        amount,
        paidAt: new Date(Date.now() - agoDays * DAY).toISOString(),
      });
    for (const [i, ago] of [20, 12, 5, 1].entries()) expect((await pay(`o-loyal-${i}`, 'openid-loyal', 180, ago)).status).toBeLessThan(300);
    expect((await pay('o-dormant-1', 'openid-dormant', 30, 110)).status).toBe(201);
    expect((await pay('o-dormant-2', 'openid-dormant', 30, 100)).status).toBe(201);

    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    recordPageProblems(page, problems);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await receiver?.close();
  });

  /** The count the chip for `filter` shows. */
  const chipCount = (filter: Record<string, string>) =>
    page.locator(`[data-testid="segment-chip"][data-filter='${JSON.stringify(filter)}'] .chip-count`).textContent();

  it('counts members by lifecycle, RFM segment and tag, and lists a segment\'s members', async () => {
    await page.goto(`${app.url}/admin/`);
    await page.getByTestId('login-token').fill(tokens.admin);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('workspace').waitFor({ state: 'visible' });
    await expect.poll(() => text('segments-total')).toBe('共 5 位会员');

    const counts = (await request('GET', '/api/segments', 'admin')).body;
    expect(counts.lifecycle).toEqual({ new: 3, active: 0, loyal: 1, dormant: 1, lost: 0 });
    expect(counts.tags).toEqual([{ tag: 'VIP', members: 2 }]);
    expect(await chipCount({ lifecycle: 'new' })).toBe('3');
    expect(await chipCount({ lifecycle: 'loyal' })).toBe('1');
    expect(await chipCount({ lifecycle: 'dormant' })).toBe('1');
    expect(await chipCount({ rfm: 'important-value' })).toBe(String(counts.rfm['important-value']));
    expect(await chipCount({ tag: 'VIP' })).toBe('2');
    expect(await page.locator('[data-testid="segments-lifecycle"] .chip-name').allTextContents()).toEqual(['新会员', '活跃', '忠诚', '沉睡', '流失']);

    // No segment chosen yet: nothing to send to.
    expect(await page.getByTestId('segment-actions').isVisible()).toBe(false);
    await page.locator(`[data-testid="segment-chip"][data-filter='{"tag":"VIP"}']`).click();
    await expect.poll(() => page.getByTestId('segment-member').count()).toBe(2);
    expect((await page.getByTestId('segment-member').evaluateAll((els) => els.map((e) => e.getAttribute('data-member-id')))).sort()).toEqual([...vip].sort());
    expect(await text('segment-summary')).toBe('标签“VIP” · 2 位会员');
    expect(await page.getByTestId('filter-tag').inputValue()).toBe('VIP');
    expect(await page.getByTestId('segment-actions').isVisible()).toBe(true);

    // The filter form: the dormant lifecycle.
    await page.getByTestId('filter-tag').fill('');
    await page.getByTestId('filter-lifecycle').selectOption('dormant');
    await page.getByTestId('filter-submit').click();
    await expect.poll(() => text('segment-summary')).toBe('沉睡 · 1 位会员');
    // Back to the VIPs for the actions below.
    await page.locator(`[data-testid="segment-chip"][data-filter='{"tag":"VIP"}']`).click();
    await expect.poll(() => text('segment-summary')).toBe('标签“VIP” · 2 位会员');
  });

  it('issues a coupon batch to the segment', async () => {
    await page.getByTestId('coupon-title').fill('会员日券');
    await page.getByTestId('coupon-amount').fill('10');
    await page.getByTestId('coupon-min-spend').fill('50');
    await page.getByTestId('coupon-days').fill('7');
    await page.getByTestId('coupon-submit').click();
    await expect.poll(() => text('admin-notice')).toBe('已发券 2 张；0 位会员拒收营销，未发');
    for (const id of vip) {
      const coupons = (await request('GET', `/api/members/${id}/coupons`, 'admin')).body.coupons;
      expect(coupons.map((c: any) => [c.title, c.amountOffYuan, c.minSpendYuan, c.status])).toEqual([['会员日券', 10, 50, 'available']]);
    }
  });

  it('sends a message to the segment through the provider and follows its delivery', async () => {
    await page.getByTestId('message-template').fill('SMS_MEMBER_DAY');
    await page.getByTestId('message-text').fill('{name}，本周六会员日，凭券立减10元');
    await page.getByTestId('message-submit').click();
    await expect.poll(() => text('admin-notice')).toBe('1 条消息已排队发送');
    // The VIP without a phone is logged, not sent; the other reaches the provider, signed.
    await expect.poll(() => receiver.accepted.length, { timeout: 10_000 }).toBe(1);
    expect(receiver.accepted[0]!.body).toMatchObject({ template: 'SMS_MEMBER_DAY', text: '林小雨，本周六会员日，凭券立减10元', member: { phone: '13800000001' } });
    await expect
      .poll(async () => {
        await page.getByTestId('message-status').click();
        return text('message-status');
      }, { timeout: 10_000 })
      .toBe('待发 0 · 已发 1 · 失败 0 · 拒收营销 0 · 无手机号 1（点击刷新）');
    await page.getByTestId('segments').screenshot({ path: path.join(ARTIFACTS, 'admin-segments.png') });
  });

  it('edits and saves the campaign rules', async () => {
    await page.locator('[data-testid="rule"][data-rule="joinGift"]').waitFor();
    expect(await text('rules-source')).toBe('当前使用配置文件中的默认规则');
    expect(await page.locator('[data-testid="rule"] > legend').allTextContents()).toContain('沉睡唤醒');
    await page.locator('[data-path="joinGift.enabled"]').uncheck();
    await page.locator('[data-path="spendThreshold.minOrderYuan"]').fill('300');
    await page.locator('[data-path="birthday.reward"]').selectOption('points-multiplier');
    await page.locator('[data-path="dormantWelcome.coupon.title"]').fill('好久不见券');
    await page.getByTestId('rules-save').click();
    await expect.poll(() => text('admin-notice')).toBe('营销规则已保存，下次识别会员时生效');
    expect(await text('rules-source')).toMatch(/于 .+ 保存$/);

    const saved = (await request('GET', '/api/campaigns/rules', 'admin')).body;
    expect(saved.source).toBe('saved');
    expect(saved.rules.joinGift.enabled).toBe(false);
    expect(saved.rules.spendThreshold.minOrderYuan).toBe(300);
    expect(saved.rules.birthday.reward).toBe('points-multiplier');
    expect(saved.rules.dormantWelcome.coupon.title).toBe('好久不见券');
    // Untouched rules are saved as they were.
    expect(saved.rules.referral.enabled).toBe(true);

    // A value the service refuses: its message names the field, and nothing is saved.
    await page.locator('[data-path="nearTier.withinYuan"]').fill('-5');
    await page.getByTestId('rules-save').click();
    await expect.poll(() => text('admin-error')).toMatch(/nearTier\.withinYuan/);
    // The browser reports the refused request itself; that one is expected, nothing else.
    expect(problems.splice(0)).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    expect((await request('GET', '/api/campaigns/rules', 'admin')).body.rules.nearTier.withinYuan).toBe(100);
    await page.getByTestId('rules-refresh').click();
    await expect.poll(() => page.locator('[data-path="nearTier.withinYuan"]').inputValue()).toBe('100');
    await page.getByTestId('rules').screenshot({ path: path.join(ARTIFACTS, 'admin-campaign-rules.png') });
  });

  it('speaks English after the switch, and fits a 390 px phone screen', async () => {
    await page.getByTestId('lang-switch').click();
    expect(await page.locator('[data-testid="segments"] h2').textContent()).toBe('Member segments');
    expect(await text('segments-total')).toBe('5 members in all');
    expect(await page.locator('[data-testid="segments-lifecycle"] .chip-name').allTextContents()).toEqual(['New', 'Active', 'Loyal', 'Dormant', 'Lost']);
    expect(await text('segment-summary')).toBe('tag “VIP” · 2 members');
    expect(await text('message-status')).toBe('Waiting 0 · sent 1 · failed 0 · declined marketing 0 · no phone 1 (click to refresh)');
    expect(await page.locator('[data-rule="joinGift"] > legend').textContent()).toBe('Join gift');
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-segments-en.png'), fullPage: true });
    await page.getByTestId('lang-switch').click(); // leave the stored language as found

    const phoneWidth = 390;
    await page.setViewportSize({ width: phoneWidth, height: 844 });
    const wide = await page
      .locator('[data-testid="segments"], [data-testid="segments"] *, [data-testid="rules"], [data-testid="rules"] *')
      .evaluateAll((elements, width) =>
        elements
          .filter((el) => el.getClientRects().length > 0 && el.getBoundingClientRect().right > width + 1)
          .map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`),
        phoneWidth,
      );
    const pageWidth = await page.locator('html').evaluate((html) => html.scrollWidth);
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-segments-narrow-page.png'), fullPage: true });
    await page.getByTestId('segments').screenshot({ path: path.join(ARTIFACTS, 'admin-segments-narrow.png') });
    expect(wide).toEqual([]);
    expect(pageWidth).toBeLessThanOrEqual(phoneWidth);
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(problems).toEqual([]);
  });
});
