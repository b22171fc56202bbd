/**
 * Chain HQ at scale: a real PostgreSQL (fsync on) and `memberlens hq serve`, and branch stores
 * as real SQLite ledgers (MemberStore, the same outbox triggers as the service) each filled
 * with a day of traffic. Measures (1) HQ ingest: every branch pushes its day at once, batches
 * of `chain.batchEvents`, through HQ's HTTP API — ledger entries per second; (2) one branch
 * that was offline for 24 hours comes back: its ChainSync sends its day and takes the other
 * branches' days — seconds until it is in step. `npm run bench:chain [-- --stores N
 * --payments P] [--json]`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ChainSync } from '../src/chain/chainSync.js';
import { HqClient } from '../src/chain/hqClient.js';
import { settingsSchema } from '../src/config/settingsSchema.js';
import { createLogger } from '../src/core/logger.js';
import { MemberStore } from '../src/ledger/index.js';
import { SegmentService } from '../src/services/segmentService.js';
import { round2 } from './benchStats.js';
import { hqCommand, startHqProcess } from './hqProcess.js';
import { startPostgres } from './postgresCluster.js';

const option = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const json = process.argv.includes('--json');
const STORES = option('stores', 10);
/** Payments per branch and day: a busy branch with two tills. */
const PAYMENTS = option('payments', 2000);
/** Each branch's regulars: a day's payers pay about twice each. */
const BRANCH_PAYERS = Math.round(PAYMENTS / 2);
const BATCH = 500;
const DAY_MS = 86_400_000;

const settings = settingsSchema.parse({});
const log = createLogger('silent');
const dir = mkdtempSync(path.join(tmpdir(), 'memberlens-bench-chain-'));
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

interface Branch {
  storeId: string;
  token: string;
  store: MemberStore;
}

/** A branch's SQLite ledger with one day of payments and recharges, joined to the chain. */
function fillBranch(storeId: string, token: string, payerKeySecret: Buffer, startMs: number): Branch {
  const store = MemberStore.open({
    databaseFile: path.join(dir, `${storeId}.db`),
    faceKey: randomBytes(32),
    payerKeySecret,
    membership: settings.membership,
    maxWritesPerCommit: settings.storage.maxWritesPerCommit,
  });
  store.chain.join(storeId, startMs);
  store.inTransaction(() => {
    for (let i = 0; i < PAYMENTS; i++) {
      const payer = `${storeId}-${Math.floor(Math.random() * BRANCH_PAYERS)}`;
      const { memberId } = store.membership.recordPayment({
        orderId: `${storeId}-${i}`,
        lane: 'lane1',
        channel: 'wechat',
        appId: 'chain-app',
        payerId: `payer-${payer}`,
        amountYuan: 5 + (i % 300),
        paidAtMs: startMs + Math.floor((i / PAYMENTS) * DAY_MS),
      });
      if (i % 20 === 0) store.membership.recharge({ memberId, amountYuan: 200, rechargeId: `${storeId}-r${i}` });
    }
  });
  return { storeId, token, store };
}

/** Pushes the branch's outbox to HQ in batches, as ChainSync does; returns the entries sent. */
async function pushAll(branch: Branch, hqUrl: string): Promise<{ events: number; entries: number }> {
  const client = new HqClient({ hqUrl, token: branch.token, requestTimeoutMs: 60_000 });
  let events = 0;
  let entries = 0;
  for (;;) {
    const batch = branch.store.chain.pending(0, BATCH);
    if (batch.length === 0) return { events, entries };
    const { lastSeq } = await client.pushBatch(batch, branch.store.chain.backlog().events);
    branch.store.chain.acknowledge(lastSeq);
    events += batch.length;
    entries += batch.filter((e) => e.kind === 'entry').length;
  }
}

const postgres = await startPostgres();
const db = new pg.Pool({ connectionString: postgres.url, max: 1 });
// A connection still closing when the cluster stops gets PostgreSQL's 57P01; it must not end the run.
db.on('error', () => undefined);
let hq: Awaited<ReturnType<typeof startHqProcess>> | undefined;
try {
  const tokens = [];
  for (let s = 0; s <= STORES; s++) tokens.push(await hqCommand(postgres.url, 'stores', 'add', `branch-${s}`));
  hq = await startHqProcess(postgres.url);
  const secretHex = (await db.query<{ s: Buffer }>('SELECT payer_key_secret AS s FROM hq_settings')).rows[0]!.s;
  const startMs = Date.now() - DAY_MS;

  const fillStart = performance.now();
  const branches = tokens.map((t) => fillBranch(t.storeId!, t.token!, secretHex, startMs));
  say(`filled ${branches.length} branches with ${PAYMENTS} payments each in ${round2((performance.now() - fillStart) / 1000)} s`);

  // (1) Every branch but the last pushes its day at once.
  const online = branches.slice(0, STORES);
  const ingestStart = performance.now();
  const pushed = await Promise.all(online.map((b) => pushAll(b, hq!.url)));
  const ingestS = (performance.now() - ingestStart) / 1000;
  const entries = pushed.reduce((n, p) => n + p.entries, 0);
  const events = pushed.reduce((n, p) => n + p.events, 0);
  const ingest = { branches: STORES, entries, events, seconds: round2(ingestS), entriesPerS: Math.round(entries / ingestS), eventsPerS: Math.round(events / ingestS) };
  say(`HQ ingest: ${entries} ledger entries (${events} events) from ${STORES} branches in ${ingest.seconds} s = ${ingest.entriesPerS} entries/s (${ingest.eventsPerS} events/s)`);

  // (2) The last branch was offline all day: it sends its day and takes everyone else's.
  const late = branches[STORES]!;
  const backlog = late.store.chain.backlog().events;
  const sync = new ChainSync({
    store: late.store,
    members: { applyChainFeed: (e, c, perMember) => late.store.applyChainFeed(e, c, perMember) },
    segments: new SegmentService({ store: late.store, settings: settings.segments, log }),
    // No chain campaign rules are set in this run: the feed brings none.
    campaigns: { chainRulesVersion: () => 0, applyChainRules: () => false },
    client: new HqClient({ hqUrl: hq.url, token: late.token, requestTimeoutMs: 60_000 }),
    settings: { storeId: late.storeId, batchEvents: BATCH },
    log,
  });
  const syncStart = performance.now();
  const figures = await sync.syncOnce();
  const syncS = (performance.now() - syncStart) / 1000;
  const offline = { backlogEvents: backlog, sent: figures.sent, entriesTaken: figures.received, seconds: round2(syncS) };
  say(`24 h offline branch: sent its ${backlog} events and took ${figures.received} entries of the other branches in ${offline.seconds} s`);

  const sizeBytes = (await db.query<{ n: number }>('SELECT pg_database_size(current_database())::bigint AS n')).rows[0]!.n;
  const perEvent = Math.round(Number(sizeBytes) / (events + backlog));
  const perBranchDay = Math.round((events + backlog) / (STORES + 1));
  const thousand = {
    eventsPerDay: perBranchDay * 1000,
    averageEventsPerS: Math.round((perBranchDay * 1000) / 86_400),
    databaseGbPerYear: round2((perBranchDay * 1000 * perEvent * 365) / 1e9),
  };
  say(
    `a chain of 1,000 such branches: ${thousand.eventsPerDay} events a day, ${thousand.averageEventsPerS}/s on average ` +
      `(~${perEvent} bytes each in PostgreSQL, ${thousand.databaseGbPerYear} GB a year)`,
  );
  if (json) process.stdout.write(`${JSON.stringify({ ingest, offline, perEventBytes: perEvent, thousandBranches: thousand })}\n`);
  for (const b of branches) b.store.close();
} finally {
  await hq?.stop();
  await db.end();
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
