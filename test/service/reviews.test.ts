import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { fakePayerId } from '../../src/fusion/paymentProvider.js';
import type { Role } from '../../src/ledger/index.js';
import { faceCrop, faceFrame, standAtCounter, waitUntil } from '../support/frames.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';

const PAYER_CODE_1 = '134567890123456789';
const PAYER_CODE_2 = '139876543210456789'; // same last 6 digits: the fake provider's same payer
const RECOGNITIONS_BEFORE = 600;

/**
 * `GET /api/reviews` reads the processing log by action, newest first, a page at a time: a
 * conflict flagged after hundreds of recognitions is the first thing the admin sees.
 */
describe('GET /api/reviews', () => {
  let service: TestApp;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let till: Socket;
  const recognized: string[] = [];

  beforeAll(async () => {
    service = await startTestApp('reviews', { checkout: { paymentProvider: 'local-fake' } });
    ({ app, tokens } = service);
    till = io(`${app.url}/till`, { auth: { token: tokens.till, lane: 'lane1' }, transports: ['websocket'] });
    till.onAny((name: string, payload: { memberId?: string }, ack?: () => void) => {
      if (name === 'member:recognized' && payload.memberId) recognized.push(payload.memberId);
      if (typeof ack === 'function') ack();
    });
    await new Promise<void>((r) => till.once('connect', () => r()));
  });

  afterAll(async () => {
    till?.close();
    await service?.stop();
  });

  const get = async (query = '') => {
    const res = await fetch(`${app.url}/api/reviews${query}`, { headers: bearer(tokens.admin) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const pay = (orderId: string, code: string) =>
    postJson(`${app.url}/api/payments`, tokens.pos, {
      orderId,
      lane: 'lane1',
      channel: 'wechat',
      appId: 'fake-app',
      payerId: fakePayerId('wechat', code),
      amount: 12,
      paidAt: new Date().toISOString(),
    });

  it(`lists a conflict flagged after ${RECOGNITIONS_BEFORE} recognitions first`, async () => {
    const amy = await postJson(`${app.url}/api/members`, tokens.admin, { name: '周艾米' });
    expect(amy.status).toBe(201);
    const enrolled = await fetch(`${app.url}/api/members/${amy.body.id}/faces?consentMethod=written&staff=t`, {
      method: 'POST',
      headers: { ...bearer(tokens.admin), 'content-type': 'image/png' },
      body: faceCrop('amy/amy1.png'),
    });
    expect(enrolled.status).toBe(201);
    const payer = await pay('o-1', PAYER_CODE_1);
    expect(payer.body).toMatchObject({ created: true, face: 'no-link' });

    // What a busy till writes between two conflicts: one entry per recognition.
    for (let i = 0; i < RECOGNITIONS_BEFORE; i++) {
      app.core.store.audit.record({ actor: 'lane:lane1', action: 'match', subject: amy.body.id, details: { confidence: 0.9 } });
    }
    expect((await get()).body.reviews).toEqual([]);

    const standing = standAtCounter(app.url, 'lane1', tokens.device, await faceFrame('amy/amy2.png'));
    try {
      await waitUntil(() => recognized.includes(amy.body.id), 'the lane to recognize Amy');
      expect((await postJson(`${app.url}/api/lanes/lane1/scans`, tokens.device, { code: PAYER_CODE_2 })).status).toBe(200);
      expect((await pay('o-2', PAYER_CODE_2)).body).toMatchObject({ memberId: payer.body.memberId, face: 'conflict' });
    } finally {
      await standing.leave();
    }

    const { status, body } = await get();
    expect(status).toBe(200);
    expect(body.reviews[0]).toMatchObject({ orderId: 'o-2', lane: 'lane1', faceMemberId: amy.body.id, payerMemberId: payer.body.memberId });
    expect(body).toMatchObject({ limit: 50, nextBefore: null });
  });

  it('pages newest first with ?limit= and ?before=', async () => {
    for (let i = 1; i <= 4; i++) {
      app.core.store.audit.record({
        actor: 'pos:test',
        action: 'review.flag',
        subject: 'm_payer',
        details: { orderId: `p-${i}`, lane: 'lane1', faceMemberId: 'm_face', payerMemberId: 'm_payer' },
      });
      app.core.store.audit.record({ actor: 'lane:lane1', action: 'match', subject: 'm_face', details: { confidence: 0.9 } });
    }
    const seen: string[] = [];
    let query = '?limit=2';
    for (let pages = 0; pages < 10; pages++) {
      const { status, body } = await get(query);
      expect(status).toBe(200);
      expect(body.reviews.length).toBeLessThanOrEqual(2);
      seen.push(...body.reviews.map((r: { orderId: string }) => r.orderId));
      if (body.nextBefore === null) break;
      query = `?limit=2&before=${body.nextBefore}`;
    }
    expect(seen).toEqual(['p-4', 'p-3', 'p-2', 'p-1', 'o-2']);
  });

  it('refuses a bad page request with the documented error', async () => {
    for (const query of ['?limit=0', '?limit=501', '?limit=abc', '?before=-1', '?before=x']) {
      const { status, body } = await get(query);
      expect(status, query).toBe(400);
      expect(body.error.code).toBe('invalid-input');
    }
  });
});
