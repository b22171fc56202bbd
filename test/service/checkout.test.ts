import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { createLogger } from '../../src/core/logger.js';
import { fakePayerId } from '../../src/fusion/paymentProvider.js';
import type { Role } from '../../src/ledger/index.js';
import { faceFrame, pushFrames as pushFramesTo, standAtCounter } from '../support/frames.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The 支付即会员 story through REST and Socket.IO: a first-time payer becomes a member, consents
 * at the till, is greeted by face on the next visit, upgrades a tier after spending; a stranger
 * stays unknown; the payment auth code is found nowhere on disk or in the logs.
 */
describe('checkout: payer becomes member, consented face, tiers', () => {
  let service: TestApp;
  let dir: string;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let till: Socket;
  const logs: string[] = [];
  const events: { name: string; payload: any }[] = [];
  const AUTH_CODE_1 = '134567890123456789';
  const AUTH_CODE_2 = '139876543210456789'; // same last 6 digits: the fake provider's same payer

  beforeAll(async () => {
    const logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    service = await startTestApp(
      'checkout',
      {
        logLevel: 'debug',
        inference: { workers: 2 },
        checkout: { consentPolicy: 'confirm', paymentProvider: 'local-fake' },
        membership: {
          tiers: [
            { name: '普通', discountRate: 1, minSpendYuan: 0 },
            { name: '黄金', discountRate: 0.9, minSpendYuan: 100 },
          ],
        },
      },
      createLogger('debug', logStream),
    );
    ({ app, tokens, dir } = service);
    till = io(`${app.url}/till`, { auth: { token: tokens.till, lane: 'lane1' }, transports: ['websocket'] });
    till.onAny((name: string, payload: unknown, ack?: () => void) => {
      if (name === 'session:mark') return;
      events.push({ name, payload });
      ack?.();
    });
    await new Promise<void>((r) => till.once('connect', () => r()));
  });

  afterAll(async () => {
    till?.close();
    await service?.stop();
  });

  const post = (route: string, body: unknown, role: Role) => postJson(`${app.url}${route}`, tokens[role], body);
  const pushFrames = async (file: string | undefined, count: number) =>
    pushFramesTo(app.url, 'lane1', tokens.device, await faceFrame(file), { count, intervalMs: 250 });
  const customerAt = async (file: string) => standAtCounter(app.url, 'lane1', tokens.device, await faceFrame(file));
  const eventsNamed = (name: string) => events.filter((e) => e.name === name).map((e) => e.payload);
  const waitFor = async (name: string, count = 1) => {
    // Generous: on a loaded 2-core machine a frame can take seconds; the wait ends as soon as the event is there.
    for (let i = 0; i < 600 && eventsNamed(name).length < count; i++) await sleep(100);
    return eventsNamed(name);
  };

  let memberId: string;

  it('turns a first-time payer into a member and asks for face consent at the till', async () => {
    const customer = await customerAt('amy/amy2.png');
    // The tracker has seen the stranger on several described frames once it calls them unknown.
    expect(await waitFor('face:unknown')).toHaveLength(1);
    const scan = await post('/api/lanes/lane1/scans', { code: AUTH_CODE_1 }, 'device');
    expect(scan.status).toBe(200);
    expect(scan.body).toEqual({ kind: 'payment', channel: 'wechat' });
    await sleep(500);
    const paid = await post(
      '/api/payments',
      { orderId: 'o-1', lane: 'lane1', channel: 'wechat', appId: 'fake-app', payerId: fakePayerId('wechat', AUTH_CODE_1), amount: 58, paidAt: new Date().toISOString() },
      'pos',
    );
    await customer.leave();
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ created: true, duplicate: false, pointsEarned: 58, face: 'consent-requested' });
    memberId = paid.body.memberId;
    expect((await waitFor('member:enrolled'))[0]).toMatchObject({ memberId, via: 'payment' });
    expect((await waitFor('payment:linked'))[0]).toMatchObject({ orderId: 'o-1', memberId, face: 'consent-requested', points: 58 });
    const [request] = await waitFor('consent:requested');
    expect(request).toMatchObject({ memberId });

    expect((await post(`/api/lanes/lane1/consents/${request.requestId}`, { answer: 'granted', staff: 'lin' }, 'pos')).status).toBe(403);
    const answered = await post(`/api/lanes/lane1/consents/${request.requestId}`, { answer: 'granted', staff: 'lin' }, 'till');
    expect(answered.status).toBe(200);
    expect(answered.body.enrolled).toBe(true);
    expect((await waitFor('member:enrolled', 2))[1]).toMatchObject({ memberId, via: 'face' });
    const again = await post(`/api/lanes/lane1/consents/${request.requestId}`, { answer: 'granted', staff: 'lin' }, 'till');
    expect(again.status).toBe(404);
  });

  it('greets the member by face on the next visit, with the pre-payment lookup, and upgrades the tier', async () => {
    await pushFrames(undefined, 8); // the customer leaves
    const customer = await customerAt('amy/amy3.png'); // and comes back
    const [recognized] = await waitFor('member:recognized');
    expect(recognized).toMatchObject({ memberId, tier: { name: '普通', discountRate: 1 }, points: 58 });

    const scan = await post('/api/lanes/lane1/scans', { code: AUTH_CODE_2 }, 'device');
    expect(scan.body).toMatchObject({ kind: 'payment', channel: 'wechat', memberId, tier: { name: '普通' } });
    const order = { orderId: 'o-2', lane: 'lane1', channel: 'wechat', appId: 'fake-app', payerId: fakePayerId('wechat', AUTH_CODE_2), amount: '60.00', paidAt: new Date().toISOString() };
    const paid = await post('/api/payments', order, 'pos');
    expect(paid.body).toMatchObject({ memberId, created: false, face: 'confirmed', tier: '黄金' });
    expect((await waitFor('tier:changed'))[0]).toMatchObject({ memberId, from: { name: '普通' }, to: { name: '黄金', discountRate: 0.9 } });
    // The payment confirmed who the face was: the visit's face is kept as a second enrolled face.
    const detail = await fetch(`${app.url}/api/members/${memberId}`, { headers: bearer(tokens.admin) });
    expect(((await detail.json()) as { faces: { source: string }[] }).faces.map((f) => f.source)).toEqual(['lane-capture', 'lane-capture']);

    // The gateway retries the same order: counted once. The same order id with other content is refused.
    const duplicate = await post('/api/payments', order, 'pos');
    expect(duplicate.status).toBe(200);
    expect(duplicate.body.duplicate).toBe(true);
    const conflicting = await post('/api/payments', { ...order, amount: '61.00' }, 'pos');
    expect(conflicting.status).toBe(409);
    expect(conflicting.body.error.code).toBe('ORDER_CONFLICT');
    await customer.leave();
    await sleep(300);
    expect(eventsNamed('payment:linked')).toHaveLength(2);
  });

  it('deletes the face data at once when the member withdraws consent', async () => {
    const facesBefore = app.core.gallery.size;
    const res = await fetch(`${app.url}/api/members/${memberId}/consent`, { method: 'DELETE', headers: bearer(tokens.admin) });
    expect(res.status).toBe(200);
    // Both of them: the face enrolled with consent at the till and the one the confirmed visit added.
    expect(((await res.json()) as { deletedFaces: number }).deletedFaces).toBe(2);
    expect(app.core.gallery.size).toBe(facesBefore - 2);
    const member = (await (await fetch(`${app.url}/api/members/${memberId}`, { headers: bearer(tokens.admin) })).json()) as any;
    expect(member.faces).toEqual([]);
    expect(member.faceConsent).toBeNull();
    expect(member.membership.points).toBe(118); // the ledger stays
  });

  it('lists no member as inactive right after their visit', async () => {
    const res = await fetch(`${app.url}/api/members/inactive`, { headers: { authorization: `Bearer ${tokens.admin}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { inactiveDays: number; members: unknown[] };
    expect(body.inactiveDays).toBe(730);
    expect(body.members).toEqual([]);
  });

  it('keeps a stranger unknown', async () => {
    await pushFrames(undefined, 8);
    const before = eventsNamed('member:recognized').length;
    const unknownBefore = eventsNamed('face:unknown').length;
    const stranger = await customerAt('stuart/stuart1.png');
    await waitFor('face:unknown', unknownBefore + 1);
    await sleep(1000);
    await stranger.leave();
    expect(eventsNamed('face:unknown')).toHaveLength(unknownBefore + 1);
    expect(eventsNamed('member:recognized')).toHaveLength(before);
  });

  it('rejects bad input with clear errors and keeps the auth codes off disk and out of the logs', async () => {
    expect((await post('/api/lanes/lane1/scans', { code: 'hello' }, 'device')).body).toMatchObject({ kind: 'rejected' });
    expect((await post('/api/lanes/lane1/scans', { code: AUTH_CODE_1, extra: 1 }, 'device')).status).toBe(400);
    expect((await post('/api/lanes/nope/scans', { code: AUTH_CODE_1 }, 'device')).status).toBe(404);
    expect((await post('/api/payments', { orderId: 'o-3', lane: 'lane1', channel: 'wechat', appId: 'a', payerId: 'p', amount: -1, paidAt: 'yesterday' }, 'pos')).status).toBe(400);
    const huge = await fetch(`${app.url}/api/lanes/lane1/scans`, {
      method: 'POST',
      headers: { ...bearer(tokens.device), 'content-type': 'application/json' },
      body: JSON.stringify({ code: '1'.repeat(10 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    const haystacks = [logs.join(''), ...readdirSync(dir).filter((f) => f.startsWith('memberlens.db')).map((f) => readFileSync(path.join(dir, f)).toString('latin1'))];
    for (const code of [AUTH_CODE_1, AUTH_CODE_2]) for (const hay of haystacks) expect(hay.includes(code)).toBe(false);
    expect(logs.join('').length).toBeGreaterThan(1000); // the logs really were captured

    const metrics = await (await fetch(`${app.url}/metrics`, { headers: bearer(tokens.admin) })).text();
    expect(metrics).toContain('memberlens_payment_face_links{lane="lane1",outcome="link-face",reason=""} 1');
    expect(metrics).toContain('memberlens_payment_face_links{lane="lane1",outcome="confirmed",reason=""} 1');
  });
});
