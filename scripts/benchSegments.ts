/**
 * Segments at a large store's scale: N members with P payments each (a payment writes two
 * ledger entries, spend and points), spread over the last 400 days. Measures the full recompute
 * (the nightly pass) and one member's recompute after a payment, on a real SQLite file with the
 * service's pragmas. `npm run bench:segments [-- MEMBERS PAYMENTS_PER_MEMBER] [--json]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { settingsSchema } from '../src/config/settingsSchema.js';
import { createLogger } from '../src/core/logger.js';
import { MemberStore } from '../src/ledger/index.js';
import { SegmentService } from '../src/services/segmentService.js';
import { megabytes, summarize } from './benchStats.js';

const DAY_MS = 86_400_000;
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const members = Number(args[0] ?? 100_000);
const paymentsPerMember = Number(args[1] ?? 5);
const json = process.argv.includes('--json');
const FILL_CHUNK = 20_000;
const SINGLE_RUNS = 2_000;

const settings = settingsSchema.parse({});
const dir = mkdtempSync(path.join(tmpdir(), 'memberlens-bench-segments-'));
const databaseFile = path.join(dir, 'bench.db');
const now = Date.now();
const store = MemberStore.open({
  databaseFile,
  faceKey: randomBytes(32),
  clock: () => now,
  membership: settings.membership,
  maxWritesPerCommit: settings.storage.maxWritesPerCommit,
});
const segments = new SegmentService({ store, settings: settings.segments, log: createLogger('silent'), clock: () => now });

try {
  // Fill: every member's payments at random days of the last 400, in large transactions.
  const fillStart = performance.now();
  const total = members * paymentsPerMember;
  let seq = 0;
  const memberIds: string[] = [];
  while (seq < total) {
    store.inTransaction(() => {
      for (let i = 0; i < FILL_CHUNK && seq < total; i++, seq++) {
        const payer = seq % members;
        const paidAtMs = now - Math.floor(Math.random() * 400 * DAY_MS);
        const result = store.membership.recordPayment({
          orderId: `b-${seq}`,
          lane: 'bench',
          channel: 'wechat',
          appId: 'bench-app',
          payerId: `payer-${payer}`,
          amountYuan: 10 + (seq % 200),
          paidAtMs,
        });
        if (seq < members) memberIds.push(result.memberId);
      }
    });
  }
  const fillMs = performance.now() - fillStart;
  const entries = members * paymentsPerMember * 2;

  // The nightly pass, as the stage runs it (first run writes every row; a second one rewrites them).
  const first = performance.now();
  await segments.recomputeAll();
  const nightlyFirstMs = performance.now() - first;
  const second = performance.now();
  await segments.recomputeAll();
  const nightlyMs = performance.now() - second;

  // One member after a payment: the aggregate and the upsert. In the service they run inside
  // the payment's group commit, whose fsync the payment pays anyway; here inside one open
  // transaction likewise, so the figure is what the segment adds to a payment.
  const single: number[] = [];
  store.inTransaction(() => {
    for (let i = 0; i < SINGLE_RUNS; i++) {
      const id = memberIds[Math.floor(Math.random() * memberIds.length)]!;
      const t = performance.now();
      segments.recompute(id);
      single.push(performance.now() - t);
    }
  });

  const result = {
    members,
    ledgerEntries: entries,
    fillS: Math.round(fillMs / 100) / 10,
    databaseMB: megabytes(statSync(databaseFile).size + (statSync(`${databaseFile}-wal`, { throwIfNoEntry: false })?.size ?? 0)),
    nightlyFirstS: Math.round(nightlyFirstMs / 10) / 100,
    nightlyS: Math.round(nightlyMs / 10) / 100,
    perMemberRecomputeMs: summarize(single),
  };
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `${members} members, ${entries} ledger entries (filled in ${result.fillS} s, ${result.databaseMB} MB)\n` +
        `full recompute: ${result.nightlyFirstS} s first run, ${result.nightlyS} s again\n` +
        `one member after a payment: median ${result.perMemberRecomputeMs.median} ms, p99 ${result.perMemberRecomputeMs.p99} ms, max ${result.perMemberRecomputeMs.max} ms\n`,
    );
  }
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
