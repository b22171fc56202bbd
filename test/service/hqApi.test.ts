import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../scripts/postgresCluster.js';
import { createLogger } from '../../src/core/logger.js';
import { startHq, withHqLedger, type RunningHq } from '../../src/hq/hqService.js';
import { defaultSettings } from '../support/settings.js';

/**
 * HQ's API against a real PostgreSQL: every store request is authenticated by the store's own
 * (revocable) token, a store writes only its own changes, batches that leave a gap are refused
 * with the last accepted number, a resent batch counts nothing twice, and hostile bodies get a
 * 4xx naming the field — never a 5xx.
 */
describe('HQ API: tokens, ownership, sequence numbers, hostile bodies', () => {
  let postgres: PostgresCluster;
  let hq: RunningHq;
  let settings: typeof defaultSettings.hq;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    postgres = await startPostgres();
    settings = { ...defaultSettings.hq, databaseUrl: postgres.url, port: 0 };
    await withHqLedger(settings, async (ledger) => {
      for (const id of ['north', 'south']) tokens[id] = (await ledger.addStore(id)).token;
      tokens.owner = (await ledger.addOwnerToken('test')).token;
    });
    hq = await startHq(settings, createLogger('silent'));
  }, 60_000);

  afterAll(async () => {
    await hq?.stop();
    await postgres?.stop();
  }, 60_000);

  const send = async (method: string, route: string, token: string | undefined, body?: unknown, raw?: string) => {
    const res = await fetch(`${hq.url}${route}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined || raw ? { 'content-type': 'application/json' } : {}) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const entry = (store: string, seq: number, memberId = 'm_1') => ({
    seq,
    gid: `${store}:e${seq}`,
    kind: 'entry',
    memberId,
    body: { kind: 'spend', spendFen: 1000, points: 0, storedFen: 0, orderId: `o${seq}`, refId: null, lot: null, atMs: 1, recordedAtMs: 1 },
  });
  const member = (store: string, seq: number, memberId = 'm_1') => ({
    seq,
    gid: `${store}:x${seq}`,
    kind: 'member',
    memberId,
    body: { name: 'Amy', phone: null, createdAtMs: 1, updatedAtMs: 1 },
  });

  it('refuses requests without a valid store token, and a store token on the owner routes', async () => {
    expect((await send('GET', '/api/chain/feed', undefined)).status).toBe(401);
    expect((await send('GET', '/api/chain/feed', 'ml_store_forged')).status).toBe(401);
    expect((await send('GET', '/api/hq/stores', tokens.north)).status).toBe(401);
    expect((await send('GET', '/api/hq/stores', tokens.owner)).status).toBe(200);
    const join = await send('GET', '/api/chain/join', tokens.north);
    expect(join.body.storeId).toBe('north');
    expect(join.body.payerKeySecret).toMatch(/^[0-9a-f]{64}$/);
  });

  it('takes a batch once, refuses a gap with the last accepted number, and another store\'s ids', async () => {
    const first = await send('POST', '/api/chain/batches', tokens.north, { events: [member('north', 1), entry('north', 2)], backlog: 2 });
    expect(first.body).toEqual({ lastSeq: 2, accepted: 2 });
    // The answer was lost and the store sends the batch again, with one more: only the new one counts.
    const again = await send('POST', '/api/chain/batches', tokens.north, { events: [member('north', 1), entry('north', 2), entry('north', 3)], backlog: 3 });
    expect(again.body).toEqual({ lastSeq: 3, accepted: 1 });
    const gap = await send('POST', '/api/chain/batches', tokens.north, { events: [entry('north', 5)], backlog: 1 });
    expect(gap.status).toBe(409);
    expect(gap.body.error).toMatchObject({ code: 'sequence-gap', lastSeq: 3 });
    const notOurs = await send('POST', '/api/chain/batches', tokens.south, { events: [entry('north', 1)], backlog: 1 });
    expect(notOurs.status).toBe(403);
    expect(notOurs.body.error.message).toMatch(/events\[0\]\.gid/);
    // South sees north's member and its two entries once, in order; north does not get its own back.
    const feed = await send('GET', '/api/chain/feed', tokens.south);
    expect(feed.body.events.map((e: { gid: string }) => e.gid)).toEqual(['north:x1', 'north:e2', 'north:e3']);
    const own = await send('GET', '/api/chain/feed', tokens.north);
    expect(own.body.events).toEqual([]);
    const after = await send('GET', `/api/chain/feed?after=${encodeURIComponent(feed.body.next)}`, tokens.south);
    expect(after.body.events).toEqual([]);
  });

  it('authorizes a spend only against the chain-wide balance, once per order', async () => {
    const recharge = { ...entry('north', 4), gid: 'north:e4', body: { ...entry('north', 4).body, kind: 'recharge', spendFen: 0, storedFen: 5000 } };
    expect((await send('POST', '/api/chain/batches', tokens.north, { events: [recharge], backlog: 1 })).body.lastSeq).toBe(4);
    const spend = { orderId: 's-1', memberId: 'm_1', amountFen: 3000, atMs: 1 };
    expect((await send('POST', '/api/chain/spends', tokens.south, spend)).body).toMatchObject({ duplicate: false, balanceFen: 2000 });
    expect((await send('POST', '/api/chain/spends', tokens.south, spend)).body).toMatchObject({ duplicate: true });
    const short = await send('POST', '/api/chain/spends', tokens.north, { ...spend, orderId: 'n-1' });
    expect(short.status).toBe(422);
    expect(short.body.error.code).toBe('INSUFFICIENT_BALANCE');
    expect((await send('POST', '/api/chain/spends', tokens.south, { ...spend, amountFen: 100 })).status).toBe(409);
    expect((await send('POST', '/api/chain/spends', tokens.south, { ...spend, orderId: 's-2', memberId: 'm_nobody' })).status).toBe(404);
  });

  it('answers hostile bodies with a 4xx naming the field, and stays up', async () => {
    const cases: [string, string, unknown, string?][] = [
      ['POST', '/api/chain/batches', undefined, '{"events": [1,'],
      ['POST', '/api/chain/batches', { events: 'x', backlog: 0 }],
      ['POST', '/api/chain/batches', { events: [{ ...entry('north', 9), seq: -1 }], backlog: 0 }],
      ['POST', '/api/chain/batches', { events: [{ ...entry('north', 9), kind: 'drop-table' }], backlog: 0 }],
      ['POST', '/api/chain/batches', { events: [{ ...entry('north', 9), body: { ...entry('north', 9).body, spendFen: 1e300 } }], backlog: 0 }],
      ['POST', '/api/chain/batches', { events: [{ ...entry('north', 9), extra: 1 }], backlog: 0 }],
      ['POST', '/api/chain/batches', { events: [{ ...member('north', 9), body: { name: 'x'.repeat(1000), phone: null, createdAtMs: 1, updatedAtMs: 1 } }], backlog: 0 }],
      ['POST', '/api/chain/spends', { orderId: 'a b', memberId: 'm_1', amountFen: 1, atMs: 1 }],
      ['POST', '/api/chain/spends', { orderId: 'x', memberId: 'm_1', amountFen: -5, atMs: 1 }],
      ['GET', '/api/chain/feed?after=drop&limit=1', undefined],
      ['GET', '/api/chain/feed?limit=100000', undefined],
    ];
    for (const [method, route, body, raw] of cases) {
      const res = await send(method, route, tokens.north, body, raw);
      expect(res.status, `${method} ${route} ${raw ?? String(JSON.stringify(body)).slice(0, 80)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.error.message.length).toBeGreaterThan(10);
    }
    expect((await send('POST', '/api/chain/batches', tokens.north, { events: 'x', backlog: 0 })).body.error.message).toMatch(/events/);
    expect((await send('GET', '/healthz', undefined)).status).toBe(200);
  });

  it('shuts a revoked store out at once', async () => {
    await withHqLedger(settings, (ledger) => ledger.revokeStore('south'));
    expect((await send('GET', '/api/chain/feed', tokens.south)).status).toBe(401);
    const rotated = await withHqLedger(settings, (ledger) => ledger.rotateStore('south'));
    expect((await send('GET', '/api/chain/feed', rotated.token)).status).toBe(200);
    expect((await send('GET', '/api/chain/feed', tokens.south)).status).toBe(401);
  });
});
