import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { seededRandom } from '../../scripts/benchSearch.js';
import { openDatabase } from '../../src/ledger/database.js';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { MemberStore, type PaymentResult, type RecordPaymentInput } from '../../src/ledger/index.js';
import { storeSettings, TEST_TIERS } from '../support/settings.js';

const ORDERS = 600;
const SENDS = 1000;
const IN_PROCESS_CALLERS = 3;
const CHILD_PROCESSES = 2;

const settings = storeSettings(
  settingsSchema.parse({
    membership: {
      tiers: TEST_TIERS,
      pointsPerYuan: 1,
    },
  }),
);

// A second process records its share of the payments through its own connection. It starts
// when told, so its transactions overlap with the other callers'.
const CHILD = `
import { readFileSync, writeFileSync } from 'node:fs';
const env = process.env;
const { MemberStore } = await import(env.LEDGER_INDEX_URL);
const store = MemberStore.open({
  databaseFile: env.DB_FILE,
  faceKey: Buffer.from(env.FACE_KEY_HEX, 'hex'),
  ...JSON.parse(env.STORE_SETTINGS),
});
const sends = JSON.parse(readFileSync(env.SENDS_FILE, 'utf8'));
process.stdout.write('ready\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const results = sends.map((send) => ({ orderId: send.orderId, ...store.membership.recordPayment(send) }));
store.close();
writeFileSync(env.RESULTS_FILE, JSON.stringify(results));
process.exit(0);
`;

type Recorded = PaymentResult & { orderId: string; caller: string };

let dir: string;
let dbFile: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'memberlens-ledger-concurrency-'));
  dbFile = join(dir, 'members.db');
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
  rmSync(dir, { recursive: true, force: true });
});


interface Payer {
  channel: string;
  appId: string;
  payerId: string;
}

function payers(): Payer[] {
  const list: Payer[] = [];
  for (let i = 0; i < 60; i++) list.push({ channel: 'wechat', appId: 'wx-app-a', payerId: `oOpenId${String(i).padStart(20, 'x')}` });
  // The same openids under another app id are other people.
  for (let i = 0; i < 30; i++) list.push({ channel: 'wechat', appId: 'wx-app-b', payerId: `oOpenId${String(i).padStart(20, 'x')}` });
  for (let i = 0; i < 30; i++) list.push({ channel: 'alipay', appId: '2021000000000001', payerId: `2088${String(i).padStart(12, '7')}` });
  return list;
}

function startChild(env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const ready = new Promise<void>((resolveReady, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolveReady();
    });
    child.once('exit', (code) => reject(new Error(`payment process exited early with ${code}`)));
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return { child, ready, exited };
}

it('counts each of 600 orders once across 1,000 duplicated, shuffled, concurrent sends from 2 processes', async () => {
  // Seeded so a failing shuffle can be replayed.
  const random = seededRandom(20_240_601);
  const faceKey = randomBytes(32);
  const people = payers();
  const startMs = Date.now() - 30 * 86_400_000;
  const orders: Array<RecordPaymentInput & { payer: number }> = [];
  for (let i = 0; i < ORDERS; i++) {
    // Every payer pays at least once; the rest of the orders go to payers at random.
    const payer = i < people.length ? i : Math.floor(random() * people.length);
    const fen = 1 + Math.floor(random() * 300_000);
    orders.push({
      orderId: `pos-${i}`,
      lane: `lane-${1 + (i % 3)}`,
      ...people[payer]!,
      amountYuan: fen / 100,
      paidAtMs: startMs + Math.floor(random() * 29 * 86_400_000),
      payer,
    });
  }
  // Every order at least once, 400 extra sends spread over orders sent at most 3 times.
  const copies = orders.map(() => 1);
  for (let extra = SENDS - ORDERS; extra > 0; ) {
    const i = Math.floor(random() * ORDERS);
    if (copies[i]! < 3) {
      copies[i]! += 1;
      extra -= 1;
    }
  }
  const sends = orders.flatMap((order, i) => Array.from({ length: copies[i]! }, () => ({ ...order, payer: undefined })));
  for (let i = sends.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sends[i], sends[j]] = [sends[j]!, sends[i]!];
  }
  expect(sends).toHaveLength(SENDS);
  const callers = CHILD_PROCESSES + IN_PROCESS_CALLERS;
  const shares = Array.from({ length: callers }, (_, c) => sends.filter((_, i) => i % callers === c));

  // Open once so the schema exists before the processes race for it.
  MemberStore.open({ databaseFile: dbFile, faceKey, ...settings }).close();

  const started = Date.now();
  const processes = shares.slice(0, CHILD_PROCESSES).map((share, c) => {
    const sendsFile = join(dir, `sends-${c}.json`);
    writeFileSync(sendsFile, JSON.stringify(share));
    return {
      resultsFile: join(dir, `results-${c}.json`),
      ...startChild({
        LEDGER_INDEX_URL: pathToFileURL(resolve('src/ledger/index.ts')).href,
        DB_FILE: dbFile,
        FACE_KEY_HEX: faceKey.toString('hex'),
        STORE_SETTINGS: JSON.stringify(settings),
        SENDS_FILE: sendsFile,
        RESULTS_FILE: join(dir, `results-${c}.json`),
      }),
    };
  });
  await Promise.all(processes.map((p) => p.ready));
  for (const p of processes) p.child.stdin?.write('go\n');

  const stores = shares.slice(CHILD_PROCESSES).map(() => MemberStore.open({ databaseFile: dbFile, faceKey, ...settings }));
  const inProcess = await Promise.all(
    shares.slice(CHILD_PROCESSES).map(async (share, c) => {
      const results: Recorded[] = [];
      for (const send of share) {
        results.push({ ...stores[c]!.membership.recordPayment(send), orderId: send.orderId, caller: `async-${c}` });
        // Yield so the async callers interleave with each other, not only with the processes.
        await new Promise((r) => setImmediate(r));
      }
      return results;
    }),
  );
  const exitCodes = await Promise.all(processes.map((p) => p.exited));
  expect(exitCodes).toEqual([0, 0]);
  for (const s of stores) s.close();
  const elapsedMs = Date.now() - started;
  console.log(`${SENDS} payment sends from ${callers} callers (${CHILD_PROCESSES} processes) in ${elapsedMs} ms`);

  const recorded: Recorded[] = [
    ...processes.flatMap((p, c) =>
      (JSON.parse(readFileSync(p.resultsFile, 'utf8')) as Recorded[]).map((r) => ({ ...r, caller: `process-${c}` })),
    ),
    ...inProcess.flat(),
  ];
  expect(recorded).toHaveLength(SENDS);

  // Each order: one first answer, every repeat the same answer marked duplicate.
  const byOrder = new Map<string, Recorded[]>();
  for (const r of recorded) byOrder.set(r.orderId, [...(byOrder.get(r.orderId) ?? []), r]);
  expect(byOrder.size).toBe(ORDERS);
  for (const [orderId, answers] of byOrder) {
    const firsts = answers.filter((a) => !a.duplicate);
    expect(firsts, orderId).toHaveLength(1);
    const strip = ({ duplicate: _d, caller: _c, tierChange: _t, ...rest }: Recorded) => rest;
    for (const a of answers) expect(strip(a), orderId).toEqual(strip(firsts[0]!));
  }
  // Both processes and the in-process callers won first writes: the race was real.
  const firstWriters = new Set(recorded.filter((r) => !r.duplicate).map((r) => r.caller.replace(/-\d+$/, '')));
  expect([...firstWriters].sort()).toEqual(['async', 'process']);

  const store = MemberStore.open({ databaseFile: dbFile, faceKey, ...settings });
  try {
    // One member per payer identity, created once, found again by the pre-payment lookup.
    expect(store.members.count()).toBe(people.length);
    const memberOfPayer = people.map((p) => store.membership.lookupPayer(p.channel, p.appId, p.payerId));
    expect(new Set(memberOfPayer).size).toBe(people.length);
    expect(recorded.filter((r) => r.created && !r.duplicate)).toHaveLength(people.length);

    for (let p = 0; p < people.length; p++) {
      const memberId = memberOfPayer[p]!;
      const mine = orders.filter((o) => o.payer === p);
      const expectedFen = mine.reduce((sum, o) => sum + Math.round(Number(o.amountYuan) * 100), 0);
      const expectedPoints = mine.reduce((sum, o) => sum + Math.floor(Math.round(Number(o.amountYuan) * 100) / 100), 0);
      const cached = store.membership.balances(memberId);
      expect(cached, `payer ${p}`).toEqual({ lifetimeSpendFen: expectedFen, points: expectedPoints, storedFen: 0 });
      const entries = store.membership.entries(memberId);
      expect(entries.reduce((sum, e) => sum + e.spendFen, 0)).toBe(expectedFen);
      expect(entries.reduce((sum, e) => sum + e.points, 0)).toBe(expectedPoints);
      expect(store.membership.recomputeBalances(memberId)).toEqual({ balances: cached, cacheWasCorrect: true });
      const tier = store.membership.memberSummary(memberId).tier.name;
      expect(tier).toBe(expectedFen >= 1_000_000 ? '钻石' : expectedFen >= 200_000 ? '黄金' : '普通');
    }
    expect(store.audit.list({ limit: 10_000 }).filter((e) => e.action === 'payment')).toHaveLength(ORDERS);
  } finally {
    store.close();
  }

  const db = openDatabase(dbFile);
  try {
    expect(db.prepare("SELECT count(*) AS n FROM ledger_entries WHERE kind = 'spend'").get()).toEqual({ n: ORDERS });
    expect(db.prepare('SELECT count(*) AS n FROM payments').get()).toEqual({ n: ORDERS });
  } finally {
    db.close();
  }
  const bytes = Buffer.concat([dbFile, `${dbFile}-wal`].filter(existsSync).map((f) => readFileSync(f)));
  for (const person of people) expect(bytes.includes(Buffer.from(person.payerId))).toBe(false);
});
