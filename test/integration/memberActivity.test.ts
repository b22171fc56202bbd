import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemberStore } from '../../src/ledger/index.js';
import { storeSettings } from '../support/settings.js';

const DAY_MS = 86_400_000;

describe('inactive members', () => {
  let dir: string;
  let now = Date.UTC(2026, 0, 1);
  let store: MemberStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'memberlens-activity-'));
    store = MemberStore.open({ databaseFile: path.join(dir, 'm.db'), faceKey: randomBytes(32), clock: () => now, ...storeSettings() });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts joining, paying and being recognized as activity', () => {
    now = Date.UTC(2024, 0, 1);
    const joinedOnly = store.enrollMember({ actor: 't', name: 'Joined 2024' }).member;
    const recognized = store.enrollMember({ actor: 't', name: 'Seen 2025' }).member;
    const payer = store.membership.recordPayment({ orderId: 'o1', lane: 'l', channel: 'wechat', appId: 'a', payerId: 'p1', amountYuan: 10, paidAtMs: now }).memberId;
    now = Date.UTC(2025, 11, 1);
    store.audit.record({ actor: 'lane:l', action: 'match', subject: recognized.id });
    store.membership.recordPayment({ orderId: 'o2', lane: 'l', channel: 'wechat', appId: 'a', payerId: 'p1', amountYuan: 10, paidAtMs: now });
    now = Date.UTC(2026, 0, 1);
    const cutoff = now - 365 * DAY_MS;
    const inactive = store.activity.inactiveSince(cutoff, 10);
    expect(inactive.map((m) => m.id)).toEqual([joinedOnly.id]);
    expect(inactive[0]!.lastActiveAtMs).toBe(Date.UTC(2024, 0, 1));
    expect(store.activity.inactiveSince(now + 1, 10).map((m) => m.id).sort()).toEqual([joinedOnly.id, recognized.id, payer].sort());
  });
});
