import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { startMessageReceiver, type MessageReceiver } from '../support/messageReceiver.js';
import { bearer, postJson, requestJson, startTestApp, type TestApp } from '../support/testApp.js';

const SECRET = 'test-shop-secret-0123456789abcdef0123456789';
const PHONES = { amy: '13800138001', raj: '13800138002', penny: '13800138003', leonard: '13800138004' };

/**
 * Messages to a segment through the shop's provider, against the local fake provider: a real
 * HTTP server on 127.0.0.1 that checks each request's signature and timestamp. The service
 * runs whole, with its delivery stage; the provider fails on purpose to show the retries.
 */
describe('messages to a segment through the signed provider webhook', () => {
  let service: TestApp;
  let receiver: MessageReceiver;
  let url: string;
  let admin: string;
  const logs = new PassThrough();
  let logText = '';
  const ids = {} as Record<'amy' | 'raj' | 'penny' | 'leonard' | 'sheldon', string>;

  beforeAll(async () => {
    receiver = await startMessageReceiver(SECRET);
    logs.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
    service = await startTestApp(
      'messages',
      { messaging: { providerUrl: receiver.url, webhookSecret: SECRET, retryBaseDelayMs: 50, retryMaxDelayMs: 200, maxAttempts: 4, deliverEveryMs: 20 } },
      createLogger('info', logs),
    );
    url = service.app.url;
    admin = service.tokens.admin;
    for (const [name, phone] of [...Object.entries(PHONES), ['sheldon', null]] as const) {
      const created = await postJson(`${url}/api/members`, admin, { name, phone });
      expect(created.status).toBe(201);
      ids[name as keyof typeof ids] = created.body.id;
      expect((await postJson(`${url}/api/members/${created.body.id}/tags`, admin, { tag: 'VIP' })).status).toBe(201);
    }
    // Leonard is a member but not VIP: not in the segment.
    expect((await fetch(`${url}/api/members/${ids.leonard}/tags/VIP`, { method: 'DELETE', headers: bearer(admin) })).status).toBe(204);
    // Penny declined marketing.
    expect((await requestJson(`${url}/api/members/${ids.penny}`, admin, 'PATCH', { marketingOptOut: true })).status).toBe(200);
  });

  afterAll(async () => {
    await service?.stop();
    await receiver?.close();
  });

  const campaign = { campaignId: 'vip-week-1', segment: { tag: 'VIP' }, template: 'SMS_2286', text: '{name}，本周会员日全场九折' };

  it('sends a templated message to each reachable member of the segment, signed, retried after failures, logged without phones', async () => {
    receiver.answerNext(503, 503);
    const queued = await postJson(`${url}/api/messages/campaigns`, admin, campaign);
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    expect(queued.body).toMatchObject({ campaignId: 'vip-week-1', duplicate: false, counts: { pending: 2, 'opted-out': 1, 'no-phone': 1, sent: 0, failed: 0 } });

    await vi.waitFor(async () => {
      const status = await requestJson(`${url}/api/messages/campaigns/vip-week-1`, admin, 'GET');
      expect(status.body.counts).toMatchObject({ pending: 0, sent: 2 });
    }, { timeout: 10_000, interval: 50 });

    // The provider got Amy and Raj, once each, with the text filled in and the phone to send to.
    const bodies = receiver.accepted.map((m) => m.body).sort((a, b) => a.member.name.localeCompare(b.member.name));
    expect(bodies.map((b) => [b.member.id, b.member.phone, b.template, b.text])).toEqual([
      [ids.amy, PHONES.amy, 'SMS_2286', 'amy，本周会员日全场九折'],
      [ids.raj, PHONES.raj, 'SMS_2286', 'raj，本周会员日全场九折'],
    ]);
    // Two requests were refused with 503 and tried again after the backoff.
    expect(receiver.requests.filter((r) => r.status === 503)).toHaveLength(2);
    expect(receiver.requests.filter((r) => r.status === 401)).toEqual([]);

    const detail = await requestJson(`${url}/api/messages/campaigns/vip-week-1`, admin, 'GET');
    const byMember = Object.fromEntries(detail.body.messages.map((m: any) => [m.memberId, m]));
    expect(byMember[ids.penny]).toMatchObject({ status: 'opted-out', attempts: 0, sentAt: null });
    expect(byMember[ids.sheldon]).toMatchObject({ status: 'no-phone', attempts: 0 });
    expect(byMember[ids.leonard]).toBeUndefined();
    const retried = [byMember[ids.amy], byMember[ids.raj]];
    expect(retried.every((m) => m.status === 'sent' && m.template === 'SMS_2286' && m.sentAt !== null)).toBe(true);
    expect(retried.reduce((n, m) => n + m.attempts, 0)).toBe(4);

    // Never a phone number in the service's log lines or in the API's message log.
    expect(logText).toContain('message sent');
    for (const phone of Object.values(PHONES)) {
      expect(logText).not.toContain(phone);
      expect(JSON.stringify(detail.body)).not.toContain(phone);
    }
  });

  it('queues nothing for a campaign sent again, and refuses its id for another message', async () => {
    const before = receiver.requests.length;
    const again = await postJson(`${url}/api/messages/campaigns`, admin, campaign);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, counts: { sent: 2, pending: 0 } });
    await new Promise((r) => setTimeout(r, 300)); // several delivery runs
    expect(receiver.requests.length).toBe(before);

    const conflict = await postJson(`${url}/api/messages/campaigns`, admin, { ...campaign, text: '另一条' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('campaign-conflict');
  });

  it('signs the timestamp with the body, so a replayed request with a fresh timestamp is refused by the provider', async () => {
    const original = receiver.accepted[0]!;
    const replay = await fetch(receiver.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-memberlens-timestamp': String(Math.floor(Date.now() / 1000) + 1),
        'x-memberlens-signature': String(original.headers['x-memberlens-signature']),
        'x-memberlens-message-id': 'replayed',
      },
      body: original.raw,
    });
    expect(replay.status).toBe(401);
  });

  it('gives up on a message the provider refuses as malformed (4xx) at once, and on one that keeps failing after maxAttempts', async () => {
    // The first request is refused as malformed; the other message meets a provider that stays down.
    receiver.answerNext(400, 503, 503, 503, 503);
    const refused = await postJson(`${url}/api/messages/campaigns`, admin, { ...campaign, campaignId: 'amy-only', segment: { tag: 'VIP' }, text: 'A' });
    expect(refused.status).toBe(202);
    await vi.waitFor(async () => {
      const status = await requestJson(`${url}/api/messages/campaigns/amy-only`, admin, 'GET');
      expect(status.body.counts).toMatchObject({ pending: 0, failed: 2 });
    }, { timeout: 10_000, interval: 50 });
    const detail = await requestJson(`${url}/api/messages/campaigns/amy-only`, admin, 'GET');
    const failed = detail.body.messages.filter((m: any) => m.status === 'failed').map((m: any) => [m.attempts, m.lastError]).sort();
    expect(failed).toEqual([
      [1, 'provider answered HTTP 400'],
      [4, 'provider answered HTTP 503'],
    ]);
  });

  it('answers 404 for an unknown campaign and 400 naming the field for a bad one', async () => {
    expect((await requestJson(`${url}/api/messages/campaigns/nope`, admin, 'GET')).status).toBe(404);
    const bad = await postJson(`${url}/api/messages/campaigns`, admin, { ...campaign, campaignId: 'x', segment: { lifecycle: 'sleepy' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/segment\.lifecycle/);
  });
});
