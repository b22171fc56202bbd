import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { createLogger } from '../../src/core/logger.js';
import { openDatabase } from '../../src/ledger/database.js';
import { MemberStore, type RecordPaymentInput } from '../../src/ledger/index.js';
import { SegmentRepository } from '../../src/ledger/segmentRepository.js';
import { NO_TILLS } from '../../src/push/tillNotifier.js';
import type { MemberService } from '../../src/services/memberService.js';
import { MembershipService } from '../../src/services/membershipService.js';
import { SegmentService } from '../../src/services/segmentService.js';
import { storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 10, 0, 0);
const settings = settingsSchema.parse({});

const dir = tempDirPerTest('segments');
let dbFile: string;
let now: number;
let store: MemberStore;
let segments: SegmentService;
let membership: MembershipService;
let seq = 0;

beforeEach(() => {
  dbFile = join(dir.path, 'members.db');
  now = T0;
  // One clock for the ledger and the segments, moved by the tests.
  store = dir.track(MemberStore.open({ databaseFile: dbFile, faceKey: randomBytes(32), clock: () => now, ...storeSettings(settings) }));
  segments = new SegmentService({ store, settings: settings.segments, log: createLogger('silent'), clock: () => now });
  // The member service only names a member created by a payment for the till; a stub does.
  const members = { view: (memberId: string) => ({ memberId, name: 'member', tier: { name: '普通', discountRate: 1 } }) } as unknown as MemberService;
  membership = new MembershipService({ store, members, till: NO_TILLS, segments });
});

function payment(payerId: string, amountYuan: number, paidAtMs = now): RecordPaymentInput {
  return { orderId: `o-${++seq}`, lane: 'lane-1', channel: 'wechat', appId: 'wx-app', payerId, amountYuan, paidAtMs };
}

const stored = (memberId: string) => store.segments.segment(memberId);

describe('segments from the ledger', () => {
  it('a member whose purchases ended 100 days ago is dormant, then active and loyal as they come back', async () => {
    const { result } = await membership.recordPayment(payment('amy', 100, now - 4 * DAY));
    const memberId = result.memberId;
    await membership.recordPayment(payment('amy', 100, now - 2 * DAY));
    await membership.recordPayment(payment('amy', 100, now));
    expect(stored(memberId)).toMatchObject({ lifecycle: 'loyal', rfm: 'general-value', purchases365: 3, netSpend365Fen: 30_000 });

    now += 100 * DAY;
    expect(segments.recompute(memberId)).toMatchObject({ lifecycle: 'dormant', rfm: 'general-keep', lastPurchaseAtMs: T0 });

    // Back after 100 days: one payment makes them active again, three within 90 days loyal;
    // ¥500 within the year makes them important.
    await membership.recordPayment(payment('amy', 150));
    expect(stored(memberId)).toMatchObject({ lifecycle: 'active', rfm: 'general-value', purchases90: 1, purchases365: 4 });
    now += DAY;
    await membership.recordPayment(payment('amy', 50));
    await membership.recordPayment(payment('amy', 0.01));
    expect(stored(memberId)).toMatchObject({ lifecycle: 'loyal', rfm: 'important-value', purchases90: 3, netSpend365Fen: 50_001 });
    expect(segments.segmentOf(memberId)).toEqual({ lifecycle: 'loyal', rfm: 'important-value', tags: [] });
  });

  it('the full pass moves a member from active to dormant and lost as days pass without purchases', async () => {
    const quiet = (await membership.recordPayment(payment('raj', 20))).result.memberId;
    expect(stored(quiet)?.lifecycle).toBe('new');
    now += 40 * DAY;
    const { result: busy } = await membership.recordPayment(payment('penny', 20));
    await segments.recomputeAll();
    expect(stored(quiet)?.lifecycle).toBe('active');

    now += 20 * DAY; // 60 days since the purchase: still active
    await segments.recomputeAll();
    expect(stored(quiet)?.lifecycle).toBe('active');

    now += DAY; // 61 days
    // Nothing was written for this member, so only the pass can see it.
    expect(stored(quiet)?.lifecycle).toBe('active');
    expect(await segments.recomputeAll()).toMatchObject({ members: 2 });
    expect(stored(quiet)).toMatchObject({ lifecycle: 'dormant', computedAtMs: now });
    expect(stored(busy.memberId)?.lifecycle).toBe('new'); // joined 21 days ago with one purchase

    now += 120 * DAY; // 181 days
    await segments.recomputeAll();
    expect(stored(quiet)?.lifecycle).toBe('lost');
  });

  it('recomputes every member in batches, each its own transaction', async () => {
    const few = new SegmentService({ store, settings: { ...settings.segments, recomputeBatchMembers: 2 }, log: createLogger('silent'), clock: () => now });
    for (let i = 0; i < 5; i++) store.members.create({ name: `m${i}` });
    expect(await few.recomputeAll()).toMatchObject({ members: 5 });
    expect(store.segments.membersWithoutSegment(10)).toEqual([]);
    const aborted = new AbortController();
    aborted.abort();
    expect((await few.recomputeAll(aborted.signal)).members).toBe(2);
  });

  it('counts stored value when spent, not when recharged, and an order paid both ways once', async () => {
    const { result } = await membership.recordPayment(payment('lin', 100));
    const memberId = result.memberId;
    await membership.recharge({ memberId, rechargeId: 'r-1', amountYuan: 1000 });
    expect(stored(memberId)).toMatchObject({ purchases365: 1, netSpend365Fen: 10_000 });

    // An order paid partly from stored value and partly by WeChat: one purchase of ¥300.
    await membership.deduct({ memberId, orderId: 'split', amountYuan: 200, confirmation: { method: 'till-confirm', staff: 'lin' } });
    await membership.recordPayment({ ...payment('lin', 100), orderId: 'split' });
    // An order paid from stored value alone is a purchase too.
    await membership.deduct({ memberId, orderId: 'sv-only', amountYuan: 50, confirmation: { method: 'pin', staff: 'lin' } });
    expect(stored(memberId)).toMatchObject({ purchases365: 3, netSpend365Fen: 45_000 });
  });

  it('takes refunds off the spend, and an order refunded in full is no purchase', async () => {
    const first = payment('kim', 300, now - 10 * DAY);
    const memberId = (await membership.recordPayment(first)).result.memberId;
    const last = payment('kim', 200);
    await membership.recordPayment(last);
    await membership.recordRefund({ orderId: first.orderId, refundId: 'rf-1', amountYuan: 100 });
    expect(stored(memberId)).toMatchObject({ purchases365: 2, netSpend365Fen: 40_000, lastPurchaseAtMs: now });
    await membership.recordRefund({ orderId: last.orderId, refundId: 'rf-2', amountYuan: 200 });
    expect(stored(memberId)).toMatchObject({ purchases365: 1, netSpend365Fen: 20_000, lastPurchaseAtMs: now - 10 * DAY });
  });

  it('counts only the last 365 days for F and M, and 90 for the loyal rule', async () => {
    const { result } = await membership.recordPayment(payment('old', 1000, now - 366 * DAY));
    const memberId = result.memberId;
    await membership.recordPayment(payment('old', 10, now - 91 * DAY));
    await membership.recordPayment(payment('old', 10, now - 89 * DAY));
    expect(stored(memberId)).toMatchObject({ purchases365: 2, purchases90: 1, netSpend365Fen: 2_000 });
  });

  it('a member created without a purchase is new, computed when first read', () => {
    const member = store.members.create({ name: 'Walk-in' });
    expect(stored(member.id)).toBeUndefined();
    expect(segments.segmentOf(member.id)).toEqual({ lifecycle: 'new', rfm: 'general-retain', tags: [] });
    expect(segments.segmentOf('m_nobody')).toBeUndefined();
  });

  it('with store medians, splits at the medians the full pass took', async () => {
    const medians = new SegmentService({ store, settings: { ...settings.segments, useStoreMedians: true }, log: createLogger('silent'), clock: () => now });
    const a = (await membership.recordPayment(payment('a', 10))).result.memberId;
    const b = (await membership.recordPayment(payment('b', 20))).result.memberId;
    const c = (await membership.recordPayment(payment('c', 30))).result.memberId;
    const { medians: taken } = await medians.recomputeAll();
    expect(taken).toEqual({ recentDays: 0, frequentPurchases: 1, valuableSpendFen: 2_000 });
    expect(stored(a)?.rfm).toBe('general-value');
    expect(stored(b)?.rfm).toBe('important-value');
    expect(stored(c)?.rfm).toBe('important-value');
  });

  it('keeps tags per member, refuses more than the setting allows, and forgets both with the member', () => {
    const member = store.members.create({ name: 'Tagged' });
    expect(segments.addTag(member.id, 'VIP')).toEqual({ added: true, tags: ['VIP'] });
    expect(segments.addTag(member.id, 'VIP')).toEqual({ added: false, tags: ['VIP'] });
    for (let i = 1; i < settings.segments.maxTagsPerMember; i++) segments.addTag(member.id, `t${i}`);
    expect(() => segments.addTag(member.id, 'one-too-many')).toThrow(/maxTagsPerMember/);
    expect(() => segments.removeTag(member.id, 'nope')).toThrow(/no tag/);
    segments.removeTag(member.id, 't1');
    expect(segments.segmentOf(member.id)?.tags).not.toContain('t1');
    expect(() => segments.addTag('m_nobody', 'x')).toThrow(/No member/);

    store.deleteMember(member.id, 'admin');
    expect(stored(member.id)).toBeUndefined();
    expect(store.segments.tags(member.id)).toEqual([]);
  });

  it('reads the purchase aggregate from the covering index, member by member, never the whole ledger', () => {
    store.close();
    const db = dir.track(openDatabase(dbFile));
    const plans: string[] = [];
    const prepare = db.prepare.bind(db);
    // The repository's own statements, explained as they are prepared.
    (db as { prepare: unknown }).prepare = (sql: string) => {
      if (sql.includes('ledger_entries e')) {
        const rows = prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ id: 'm', afterId: '', limit: 1, rfmSinceMs: 0, loyalSinceMs: 0 }) as { detail: string }[];
        plans.push(rows.map((r) => r.detail).join('\n'));
      }
      return prepare(sql);
    };
    new SegmentRepository(db);
    expect(plans).toHaveLength(2); // one member, and a batch of members
    for (const plan of plans) {
      expect(plan).toMatch(/SEARCH e USING COVERING INDEX ledger_entries_purchases \(member_id=\?\)/);
      expect(plan).not.toMatch(/SCAN e/);
    }
  });
});
