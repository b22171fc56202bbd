import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemberStore } from '../../src/ledger/index.js';
import { defaultSettings, storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';

/**
 * The chain outbox is written by triggers, so every way of appending a ledger entry or changing
 * a member reaches it in the same transaction — including entry kinds added after it (opening
 * balances, past purchases) and writes made before the store joined. A store that runs alone
 * writes nothing there.
 */
describe('chain outbox', () => {
  const dir = tempDirPerTest('chain-outbox');
  const open = () =>
    dir.track(MemberStore.open({ databaseFile: path.join(dir.path, 'store.db'), faceKey: randomBytes(32), ...storeSettings(defaultSettings) }));

  const pay = (store: MemberStore, orderId: string, payerId: string, amountYuan: number) =>
    store.membership.recordPayment({ orderId, lane: 'lane1', channel: 'wechat', appId: 'app', payerId, amountYuan, paidAtMs: Date.now() });

  it('holds every entry, member and payer change once, numbered without gaps, and nothing for a store alone', () => {
    const store = open();
    const { memberId } = pay(store, 'before-join', 'payer-1', 10);
    expect(store.chain.backlog()).toEqual({ events: 0, lastSeq: 0 });

    const joined = store.chain.join('north', Date.now());
    // What it held before: the member, the payer link, the spend and its points.
    expect(joined.backfilled).toBe(4);
    pay(store, 'o-1', 'payer-1', 88.5);
    store.membership.recordRefund({ orderId: 'o-1', refundId: 'r-1', amountYuan: 8.5 });
    store.membership.recharge({ memberId, amountYuan: 100, rechargeId: 'c-1' });
    const imported = store.members.create({ name: 'Imported' });
    store.membership.recordOpeningBalances({ memberId: imported.id, points: 300, storedYuan: 50, tier: null, actor: 'test' });
    store.membership.recordPastPurchase({ memberId: imported.id, orderId: 'import:1', amountYuan: 20, paidAtMs: Date.now() - 86_400_000 });
    // A write that fails leaves neither its entries nor an outbox row (nor a gap).
    expect(() => store.membership.recordRefund({ orderId: 'o-1', refundId: 'r-2', amountYuan: 1000 })).toThrow(/exceeds/);

    const pending = store.chain.pending(0, 10_000);
    expect(pending.map((e) => e.seq)).toEqual(pending.map((_, i) => i + 1));
    const entryGids = pending.filter((e) => e.kind === 'entry').map((e) => e.gid);
    const entries = [memberId, imported.id].flatMap((id) => store.membership.entries(id));
    expect(entryGids.sort()).toEqual(entries.map((e) => `north:e${e.id}`).sort());
    expect(new Set(pending.map((e) => e.gid)).size).toBe(pending.length);
    const kinds = pending.filter((e) => e.kind === 'entry').map((e) => e.body.kind);
    for (const kind of ['spend', 'points-earn', 'refund', 'points-reverse', 'recharge']) expect(kinds).toContain(kind);
    expect(kinds.filter((k) => String(k).startsWith('opening-')).length).toBe(2);
    expect(pending.filter((e) => e.kind === 'member').map((e) => e.memberId)).toContain(imported.id);
    // A points reversal names the lot it draws from by its global id.
    const reverse = pending.find((e) => e.body.kind === 'points-reverse')!;
    expect(reverse.body.lot).toMatch(/^north:e\d+$/);

    // HQ confirmed the first half: only the rest is left, and numbering goes on from there.
    const half = Math.floor(pending.length / 2);
    store.chain.acknowledge(half);
    expect(store.chain.pending(0, 10_000)[0]!.seq).toBe(half + 1);
    pay(store, 'o-2', 'payer-2', 5);
    expect(store.chain.backlog().lastSeq).toBeGreaterThan(pending.length);
    store.close();

    // Joining again under another id is refused: the numbers belong to one store.
    const reopened = open();
    expect(() => reopened.chain.join('south', Date.now())).toThrow(/belongs to chain store "north"/);
  });
});
