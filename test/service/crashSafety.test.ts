import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from '../../scripts/serviceProcess.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../src/ledger/paymentChannels.js';

/**
 * Issue 5, crash safety: the real service (`node dist/main.js`) is SIGKILLed in the middle of
 * a burst of payments and started again on the same data dir. A payment the POS was told
 * about (2xx) is money the member was promised points for: it must be there after the crash,
 * exactly once. A payment that got no answer may or may not have been committed, but the
 * gateway's retry of it must never count it twice.
 */

const PAYMENTS = 1000;
const PAYERS = 300;
const IN_FLIGHT = 20;
/** Kill once this many answers came back: well inside the burst, with requests in flight. */
const KILL_AFTER_ANSWERS = 400;
const REQUEST_TIMEOUT_MS = 10_000;

const SETTINGS = {
  logLevel: 'warn',
  demo: { seedFolder: '' },
  backup: { intervalHours: 0 },
  lanes: [{ id: 'lane1', camera: { kind: 'http-push' } }],
};

interface Payment {
  orderId: string;
  lane: string;
  channel: PaymentChannel;
  appId: string;
  payerId: string;
  amount: string;
  paidAt: string;
}

/** Whole yuan plus fen, so a floor(amount) mistake and a double count both show in the points. */
function makePayments(): Payment[] {
  const run = Date.now().toString(36);
  const paidAt = new Date().toISOString();
  return Array.from({ length: PAYMENTS }, (_, i) => {
    const payer = (i * 7) % PAYERS; // every payer pays several times, interleaved
    return {
      orderId: `crash-${run}-${i}`,
      lane: 'lane1',
      channel: PAYMENT_CHANNELS[payer % PAYMENT_CHANNELS.length]!,
      appId: 'crash-test-app',
      payerId: `payer-${payer}`,
      amount: `${1 + ((i * 37) % 250)}.${String((i * 13) % 100).padStart(2, '0')}`,
      paidAt,
    };
  });
}

const pointsOf = (p: Payment) => Math.floor(Number(p.amount));

async function postPayment(service: ServiceProcess, payment: Payment): Promise<{ status: number; body: any }> {
  const res = await fetch(`${service.url}/api/payments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.tokens.pos}`, 'content-type': 'application/json' },
    body: JSON.stringify(payment),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, body: await res.json() };
}

async function memberPoints(service: ServiceProcess, memberId: string): Promise<number> {
  const res = await fetch(`${service.url}/api/members/${memberId}`, {
    headers: { authorization: `Bearer ${service.tokens.admin}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  expect(res.status, `GET /api/members/${memberId}`).toBe(200);
  return ((await res.json()) as { membership: { points: number } }).membership.points;
}

async function memberCount(service: ServiceProcess): Promise<number> {
  let count = 0;
  for (let offset = 0; offset < 10 * PAYERS; offset += 500) {
    const res = await fetch(`${service.url}/api/members?limit=500&offset=${offset}`, {
      headers: { authorization: `Bearer ${service.tokens.admin}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const page = ((await res.json()) as { members: unknown[] }).members.length;
    count += page;
    if (page < 500) break;
  }
  return count;
}

describe('crash safety: SIGKILL during a payment burst', () => {
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;

  afterAll(async () => {
    // The first service is already dead; its dir is the second one's, removed by its stop.
    if (second) await second.stop();
    else await first?.stop();
  });

  it('keeps every acknowledged payment exactly once and never counts a retried one twice', async () => {
    if (!existsSync('dist/main.js')) {
      throw new Error('dist/main.js is missing: this test runs the built service; `npm test` builds first (or run `npm run build`).');
    }
    const payments = makePayments();
    first = await startServiceProcess(SETTINGS);
    const service = first;

    // --- the burst: IN_FLIGHT workers take the next payment until the service dies ---
    const acknowledged = new Map<string, { status: number; memberId: string }>(); // orderId →
    const unanswered = new Set<string>(); // sent, no answer (the kill cut the connection)
    let next = 0;
    let answers = 0;
    let killed = false;
    const exited = new Promise<void>((resolve) => service.child.once('exit', () => resolve()));
    const kill = () => {
      if (killed) return;
      killed = true;
      service.child.kill('SIGKILL');
    };
    const worker = async () => {
      while (!killed && next < payments.length) {
        const payment = payments[next++]!;
        let answer: { status: number; body: any };
        try {
          answer = await postPayment(service, payment);
        } catch (err) {
          if (!killed) throw err;
          unanswered.add(payment.orderId); // the connection died with the service
          continue;
        }
        answers++;
        const { status, body } = answer;
        if (status < 200 || status >= 300) throw new Error(`payment ${payment.orderId} refused: ${status} ${JSON.stringify(body)}`);
        acknowledged.set(payment.orderId, { status, memberId: body.memberId });
        if (answers >= KILL_AFTER_ANSWERS) kill();
      }
    };
    const burstStarted = Date.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await exited;
    expect(service.child.signalCode).toBe('SIGKILL');
    // Status 201 only: every order id is new, so a 200 "duplicate" here would already be a bug.
    expect([...acknowledged.values()].every((a) => a.status === 201)).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER_ANSWERS);
    expect(acknowledged.size).toBeLessThan(PAYMENTS);
    const notSent = payments.slice(next).map((p) => p.orderId);
    console.info(
      `crash test: ${acknowledged.size} payments acknowledged, ${unanswered.size} in flight at the SIGKILL, ` +
        `${notSent.length} never sent (burst ${Date.now() - burstStarted} ms)`,
    );

    // --- restart on the same data dir with the first start's tokens ---
    second = await startServiceProcess(SETTINGS, { reuse: { dir: service.dir, tokens: service.tokens } });
    const restarted = second;

    // Payer → member, as the service told us; one member per payer whatever the order.
    const memberOfPayer = new Map<string, string>();
    const notePayer = (payment: Payment, memberId: string) => {
      const known = memberOfPayer.get(payment.payerId);
      expect(known === undefined || known === memberId, `payer ${payment.payerId} maps to one member`).toBe(true);
      memberOfPayer.set(payment.payerId, memberId);
    };
    for (const payment of payments) {
      const ack = acknowledged.get(payment.orderId);
      if (ack) notePayer(payment, ack.memberId);
    }

    // 1. Before any retry: each member has at least the points of their acknowledged payments,
    //    and at most those plus the ones that were in flight — never anything twice.
    const byMember = new Map<string, { acked: number; inFlight: number }>();
    for (const payment of payments) {
      const memberId = memberOfPayer.get(payment.payerId);
      if (!memberId) continue; // a payer none of whose payments was acknowledged
      const sums = byMember.get(memberId) ?? { acked: 0, inFlight: 0 };
      if (acknowledged.has(payment.orderId)) sums.acked += pointsOf(payment);
      else if (unanswered.has(payment.orderId)) sums.inFlight += pointsOf(payment);
      byMember.set(memberId, sums);
    }
    let exactMembers = 0;
    for (const [memberId, sums] of byMember) {
      const points = await memberPoints(restarted, memberId);
      expect(points, `member ${memberId}: acknowledged points survive`).toBeGreaterThanOrEqual(sums.acked);
      expect(points, `member ${memberId}: nothing counted twice`).toBeLessThanOrEqual(sums.acked + sums.inFlight);
      if (sums.inFlight === 0) {
        expect(points, `member ${memberId}: exactly the acknowledged points`).toBe(sums.acked);
        exactMembers++;
      }
    }
    expect(exactMembers).toBeGreaterThan(0);

    // 2. The gateway retries every acknowledged order: each is already there, the same answer.
    for (const payment of payments.filter((p) => acknowledged.has(p.orderId))) {
      const { status, body } = await postPayment(restarted, payment);
      expect({ order: payment.orderId, status, duplicate: body.duplicate }).toEqual({ order: payment.orderId, status: 200, duplicate: true });
      expect(body.memberId).toBe(acknowledged.get(payment.orderId)!.memberId);
    }

    // 3. It retries the unanswered ones and sends the rest: new (201) or already there (200),
    //    either way counted once, as the final points show.
    let inFlightCommitted = 0;
    for (const payment of payments.filter((p) => !acknowledged.has(p.orderId))) {
      const { status, body } = await postPayment(restarted, payment);
      expect([200, 201], `${payment.orderId}: ${status} ${JSON.stringify(body)}`).toContain(status);
      if (status === 200) {
        expect(unanswered.has(payment.orderId), `${payment.orderId} was never sent yet is recorded`).toBe(true);
        inFlightCommitted++;
      }
      notePayer(payment, body.memberId);
    }
    console.info(`crash test: ${inFlightCommitted} of ${unanswered.size} unanswered payments had been committed before the kill`);

    const expected = new Map<string, number>();
    for (const payment of payments) {
      const memberId = memberOfPayer.get(payment.payerId)!;
      expected.set(memberId, (expected.get(memberId) ?? 0) + pointsOf(payment));
    }
    expect(expected.size).toBe(PAYERS);
    for (const [memberId, points] of expected) {
      expect(await memberPoints(restarted, memberId), `member ${memberId}: every payment once`).toBe(points);
    }
    // One member per payer: the crash did not leave a half-created member behind.
    expect(await memberCount(restarted)).toBe(PAYERS);
  }, 90_000);
});
