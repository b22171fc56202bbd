import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../scripts/postgresCluster.js';
import { hqCommand, startHqProcess, type HqProcess } from '../../scripts/hqProcess.js';
import { startServiceProcess, type ServiceProcess } from '../../scripts/serviceProcess.js';
import { ARTIFACTS, launchChromium, recordPageProblems } from '../support/chromium.js';
import { waitFor as waitForValue } from '../support/waitFor.js';

/**
 * The chain's campaign rules, set by the owner at HQ: a real PostgreSQL, `memberlens hq serve`
 * and a store as the real service (`node dist/main.js`). A branch keeps its own rules until HQ
 * sets the chain's; then the next sync brings them (the store's GET answers them), a local PUT
 * is refused with a 409 that sends the admin to HQ, and every newer version follows. HQ checks
 * the rules with the store's own schema: hostile bodies get a 400 naming the field, and a
 * store's token cannot set them. The branch's admin page (Chromium) says where its rules come from.
 */

const SYNC_EVERY_MS = 3000;
const TIMEOUT_MS = 10_000;

async function request(url: string, token: string | undefined, method: string, body?: unknown, raw?: string) {
  const res = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined || raw ? { 'content-type': 'application/json' } : {}) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => waitForValue(what, probe, timeoutMs, 100);

describe("chain campaign rules: set by the owner at HQ, in force at every branch after one sync", () => {
  let postgres: PostgresCluster;
  let hq: HqProcess;
  let store: ServiceProcess;
  let storeToken: string;
  let ownerToken: string;

  beforeAll(async () => {
    if (!existsSync('dist/main.js')) throw new Error('dist/main.js is missing: run `npm run build` first (npm test does).');
    postgres = await startPostgres();
    storeToken = (await hqCommand(postgres.url, 'stores', 'add', 'north')).token!;
    ownerToken = (await hqCommand(postgres.url, 'owners', 'add', 'chain owner')).token!;
    hq = await startHqProcess(postgres.url);
    store = await startServiceProcess({
      logLevel: 'warn',
      demo: { seedFolder: '' },
      backup: { intervalHours: 0 },
      inference: { workers: 1 },
      lanes: [{ id: 'lane1', camera: { kind: 'http-push' } }],
      chain: { hqUrl: hq.url, storeId: 'north', token: storeToken, syncEveryMs: SYNC_EVERY_MS, requestTimeoutMs: 3000 },
    });
  }, 90_000);

  afterAll(async () => {
    await store?.stop().catch(() => undefined);
    await hq?.stop();
    await postgres?.stop();
  }, 60_000);

  const atHq = (token: string | undefined, method: string, body?: unknown, raw?: string) => request(`${hq.url}/api/hq/campaign-rules`, token, method, body, raw);
  const atStore = (method: string, body?: unknown) => request(`${store.url}/api/campaigns/rules`, store.tokens.admin, method, body);

  it('refuses hostile bodies with a 400 naming the field, and a store token on the owner route', async () => {
    expect(await atHq(ownerToken, 'GET')).toEqual({ status: 200, body: { version: 0, rules: null, setBy: null, setAt: null } });

    const negative = await atHq(ownerToken, 'PUT', { checkIn: { points: -5 } });
    expect(negative.status).toBe(400);
    expect(negative.body.error.message).toMatch(/checkIn\.points/);
    const unknown = await atHq(ownerToken, 'PUT', { checkIn: { points: 1 }, freeLunch: { enabled: true } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/freeLunch/);
    const bothOffs = await atHq(ownerToken, 'PUT', { joinGift: { coupon: { title: '券', amountOffYuan: 5, rate: 0.9, validDays: 7 } } });
    expect(bothOffs.status).toBe(400);
    expect(bothOffs.body.error.message).toMatch(/joinGift\.coupon\.amountOffYuan/);
    const wrongType = await atHq(ownerToken, 'PUT', { birthday: { reward: 'cash' } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.message).toMatch(/birthday\.reward/);
    expect((await atHq(ownerToken, 'PUT', undefined, '{"checkIn":')).status).toBe(400);
    expect((await atHq(ownerToken, 'PUT', [1, 2])).status).toBe(400);

    // A branch's token is not the owner's: it can neither read nor set the chain's rules.
    expect((await atHq(storeToken, 'PUT', { checkIn: { points: 50 } })).status).toBe(401);
    expect((await atHq(storeToken, 'GET')).status).toBe(401);
    expect((await atHq(undefined, 'PUT', { checkIn: { points: 50 } })).status).toBe(401);
    // Nothing refused was kept.
    expect((await atHq(ownerToken, 'GET')).body.version).toBe(0);
  });

  it("keeps a branch's own rules until HQ sets the chain's, then takes them within one sync and refuses local changes", async () => {
    // No chain rules yet: the branch sets its own.
    const own = await atStore('PUT', { checkIn: { points: 3 } });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ source: 'saved', rules: { checkIn: { points: 3 } } });

    const set = await atHq(ownerToken, 'PUT', { checkIn: { points: 7 }, joinGift: { enabled: false } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ version: 1, setBy: 'owner:chain owner', rules: { checkIn: { enabled: true, points: 7 }, joinGift: { enabled: false } } });
    const setAtMs = Date.now();
    const arrived = await waitFor('the chain rules at the store', async () => {
      const view = await atStore('GET');
      return view.body.chainVersion === 1 ? view.body : undefined;
    });
    const tookMs = Date.now() - setAtMs;
    // The next sync starts at most SYNC_EVERY_MS after the PUT and brings them; a second
    // sync could not have started before 2 × SYNC_EVERY_MS.
    expect(tookMs).toBeLessThan(2 * SYNC_EVERY_MS);
    expect(arrived).toMatchObject({ source: 'chain', updatedBy: 'hq:owner:chain owner', rules: { checkIn: { points: 7 }, joinGift: { enabled: false } } });
    // Every rule the store's schema fills in came too: the branch runs exactly HQ's rules.
    expect(arrived.rules).toEqual(set.body.rules);

    const local = await atStore('PUT', { checkIn: { points: 100 } });
    expect(local.status).toBe(409);
    expect(local.body.error.code).toBe('chain-campaign-rules');
    expect(local.body.error.message).toMatch(/HQ/);
    expect((await atStore('GET')).body.rules.checkIn.points).toBe(7);

    // A newer version follows; the store records which one it runs and the processing log says who set it.
    const v2 = await atHq(ownerToken, 'PUT', { checkIn: { points: 9 } });
    expect(v2.body.version).toBe(2);
    expect((await atHq(ownerToken, 'GET')).body).toMatchObject({ version: 2, rules: { checkIn: { points: 9 }, joinGift: { enabled: true } } });
    await waitFor('version 2 at the store', async () => {
      const view = await atStore('GET');
      return view.body.chainVersion === 2 && view.body.rules.checkIn.points === 9 ? true : undefined;
    });
    const db = new Database(path.join(store.dir, 'memberlens.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT chain_version, actor FROM campaign_rules').get()).toEqual({ chain_version: 2, actor: 'hq:owner:chain owner' });
      const audited = db.prepare("SELECT actor, details FROM audit_log WHERE action = 'campaign.rules' ORDER BY id").all() as { actor: string; details: string }[];
      expect(audited.map((a) => [a.actor, JSON.parse(a.details).chainVersion ?? null])).toEqual([
        [expect.any(String), null],
        ['hq:owner:chain owner', 1],
        ['hq:owner:chain owner', 2],
      ]);
    } finally {
      db.close();
    }
    // HQ keeps every version with who set it.
    const pool = new pg.Pool({ connectionString: postgres.url, max: 1 });
    pool.on('error', () => undefined);
    try {
      const { rows } = await pool.query('SELECT version, set_by FROM campaign_rules ORDER BY version');
      expect(rows).toEqual([
        { version: '1', set_by: 'owner:chain owner' },
        { version: '2', set_by: 'owner:chain owner' },
      ]);
    } finally {
      await pool.end();
    }
  }, 60_000);

  it("shows the branch's admin, in Chromium, that the rules are the chain's and that a change is refused", async () => {
    const browser = await launchChromium();
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      recordPageProblems(page, problems);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.goto(`${store.url}/admin/`);
      await page.getByTestId('login-token').fill(store.tokens.admin!);
      await page.getByTestId('login-submit').click();
      await page.locator('[data-testid="rule"][data-rule="checkIn"]').waitFor();
      await expect.poll(() => page.getByTestId('rules-source').textContent()).toMatch(/^连锁总部设定的规则（第 2 版，.+ 收到）；请在总部修改$/);
      expect(await page.locator('[data-path="checkIn.points"]').inputValue()).toBe('9');
      await page.locator('[data-path="checkIn.points"]').fill('50');
      await page.getByTestId('rules-save').click();
      await expect.poll(() => page.getByTestId('admin-error').textContent()).toMatch(/HQ/);
      expect(problems.splice(0)).toEqual(['Failed to load resource: the server responded with a status of 409 (Conflict)']);
      await page.getByTestId('rules').screenshot({ path: path.join(ARTIFACTS, 'admin-chain-campaign-rules.png') });
      expect((await atStore('GET')).body.rules.checkIn.points).toBe(9);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
