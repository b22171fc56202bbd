import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { ROUTE_ROLES, type RouteKey } from '../../src/admin/routeRoles.js';
import { freeTextProblem } from '../../src/core/freeText.js';
import type { Role } from '../../src/ledger/index.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Body = { [key: string]: Json };

interface Answer {
  status: number;
  contentType: string;
  text: string;
  body: any;
}

const JSON_LIMIT_BYTES = 64 * 1024;

/** Strings a careless or hostile client sends where a name, a lane or a staff member is expected. */
const CONTROL_STRINGS = ['\u0000', 'a\u0000b', '\u202e', 'lin\u202egnp.exe', '\u2066x\u2069', 'x\u061c', '\u200f', '\u007f', 'a\u0085b', 'tab\there', 'line\nbreak', '\u001b[31m'];
/** Odd but not control text: each must be answered without a 5xx, stored or refused. */
const ODD_STRINGS = ['', ' ', '\ud800', '\uffff', '😀'.repeat(40), 'x'.repeat(5000), '%00', '${jndi:ldap://x}', "'; DROP TABLE members; --"];
/** Values of the wrong type, and numbers no amount or count should ever be. */
const WRONG_VALUES: Json[] = [null, true, 0, -1, 1e308, -1e308, 9007199254740993, 1e-320, 12.345, [], ['x'], {}, { $gt: '' }];
const DEEP = 2000;

/** A multipart/form-data body with boundary "b". */
const part = (name: string, filename: string) => `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\nnot a jpeg`;
const field = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
const form = (...parts: string[]) => `${parts.map((p) => `--b\r\n${p}\r\n`).join('')}--b--\r\n`;

/**
 * Every write route (POST, PUT, PATCH and DELETE in ROUTE_ROLES) gets hostile bodies: wrong types,
 * missing and extra fields, huge numbers, deep nesting, broken JSON, control and bidi-control
 * characters in every string field. None may answer 5xx, and every refusal must carry the
 * documented `{ error: { code, message } }`.
 */
describe('hostile request bodies on every write route', () => {
  let service: TestApp;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let memberId: string;
  let seq = 0;
  const next = (prefix: string) => `${prefix}-${++seq}`;

  beforeAll(async () => {
    service = await startTestApp('hostile', {
      checkout: { paymentProvider: 'local-fake' },
      // Load shedding answers 503 by design; this test is about bodies, not load.
      server: { port: 0, shedLoadAboveLagMs: 0, jsonBodyLimitBytes: JSON_LIMIT_BYTES },
      security: { enrollPerMinute: 100_000, pushedFramesPerMinute: 100_000 },
    });
    ({ app, tokens } = service);
    const member = await postJson(`${app.url}/api/members`, tokens.admin, { name: 'Hostile Target' });
    expect(member.status).toBe(201);
    memberId = member.body.id;
    expect((await postJson(`${app.url}/api/members/${memberId}/recharges`, tokens.pos, { rechargeId: 'seed-r', amount: '1000.00' })).status).toBe(201);
    expect((await postJson(`${app.url}/api/payments`, tokens.pos, paymentBody('seed-order'))).status).toBe(201);
  });

  afterAll(async () => {
    await service?.stop();
  });

  const paymentBody = (orderId: string): Body => ({
    orderId,
    lane: 'lane1',
    channel: 'wechat',
    appId: 'fake-app',
    payerId: 'fake-wechat-payer',
    amount: '1000.00',
    paidAt: new Date().toISOString(),
  });

  /** A valid body for each write route, and the path it is sent to; fresh ids each call. */
  const ROUTES: Record<string, { path: () => string; body: () => Body; freeText: string[] }> = {
    'POST /api/members': { path: () => '/api/members', body: () => ({ name: 'Hostile Member', phone: null }), freeText: ['name', 'phone'] },
    'DELETE /api/members/:id': { path: () => '/api/members/m_nobody', body: () => ({}), freeText: [] },
    'POST /api/members/:id/faces': {
      path: () => `/api/members/${memberId}/faces`,
      // No frame has reached lane1, so the valid body ends in 409 no-frame without any inference.
      body: () => ({ fromLane: 'lane1', consentMethod: 'written', staff: 'lin', lane: 'lane1' }),
      freeText: ['fromLane', 'staff', 'lane'],
    },
    'DELETE /api/members/:id/faces/:faceId': { path: () => `/api/members/${memberId}/faces/f_nobody`, body: () => ({}), freeText: [] },
    'DELETE /api/members/:id/consent': { path: () => '/api/members/m_nobody/consent', body: () => ({}), freeText: [] },
    // A store that runs alone refuses chain consent (409), after the body was checked.
    'POST /api/members/:id/chain-consent': { path: () => `/api/members/${memberId}/chain-consent`, body: () => ({ method: 'written', staff: 'lin', lane: 'lane1' }), freeText: ['staff', 'lane'] },
    'POST /api/lanes/:lane/frames': { path: () => '/api/lanes/lane1/frames', body: () => ({}), freeText: [] },
    'POST /api/lanes/:lane/scans': { path: () => '/api/lanes/lane1/scans', body: () => ({ code: '13800000000' }), freeText: [] },
    'POST /api/payments': { path: () => '/api/payments', body: () => paymentBody(next('o')), freeText: ['lane', 'appId', 'payerId'] },
    'POST /api/payments/:orderId/refunds': {
      path: () => '/api/payments/seed-order/refunds',
      body: () => ({ refundId: next('rf'), amount: '0.01' }),
      freeText: [],
    },
    'POST /api/members/:id/recharges': {
      path: () => `/api/members/${memberId}/recharges`,
      body: () => ({ rechargeId: next('rc'), amount: '0.01' }),
      freeText: [],
    },
    'POST /api/members/:id/deductions': {
      path: () => `/api/members/${memberId}/deductions`,
      body: () => ({ orderId: next('d'), amount: '0.01', confirmation: { method: 'till-confirm', staff: 'lin' } }),
      freeText: ['confirmation.staff'],
    },
    'POST /api/members/:id/tags': { path: () => `/api/members/${memberId}/tags`, body: () => ({ tag: 'VIP' }), freeText: ['tag'] },
    'DELETE /api/members/:id/tags/:tag': { path: () => `/api/members/${memberId}/tags/VIP`, body: () => ({}), freeText: [] },
    'POST /api/lanes/:lane/coupons': { path: () => '/api/lanes/lane1/coupons', body: () => ({ couponId: 'cp_nobody' }), freeText: [] },
    // Messaging is off in this service: a valid body ends in 409 messaging-off, after the body was checked.
    'POST /api/messages/campaigns': {
      path: () => '/api/messages/campaigns',
      body: () => ({ campaignId: next('c'), segment: { tag: 'VIP' }, template: 'SMS_1', text: '{name}，本周会员日' }),
      freeText: ['text', 'segment.tag'],
    },
    'POST /api/coupons/batches': {
      path: () => '/api/coupons/batches',
      body: () => ({ batchId: next('b'), segment: { tag: 'VIP' }, coupon: { title: '周末券', amountOffYuan: 5, minSpendYuan: 20, validDays: 3 } }),
      freeText: ['segment.tag', 'coupon.title'],
    },
    'PUT /api/campaigns/rules': {
      path: () => '/api/campaigns/rules',
      body: () => ({ joinGift: { enabled: true, coupon: { title: '新会员礼券', amountOffYuan: 5, minSpendYuan: 30, validDays: 30 } } }),
      freeText: ['joinGift.coupon.title'],
    },
    'PATCH /api/members/:id': {
      path: () => `/api/members/${memberId}`,
      body: () => ({ marketingOptOut: false, birthday: { monthDay: '03-14', agreed: true } }),
      freeText: [],
    },
    'POST /api/lanes/:lane/consents/:requestId': {
      path: () => '/api/lanes/lane1/consents/r-nobody',
      body: () => ({ answer: 'granted', staff: 'lin' }),
      freeText: ['staff'],
    },
  };

  const writeRoutes = (Object.keys(ROUTE_ROLES) as RouteKey[]).filter((key) => /^(POST|PUT|PATCH|DELETE) /.test(key));
  /** The first role the route allows, as the real caller (a scanner, the POS, a till) would hold. */
  const tokenFor = (key: RouteKey) => tokens[ROUTE_ROLES[key][0] as Role];

  const send = async (method: string, path: string, token: string, body: string | Uint8Array | undefined, contentType = 'application/json'): Promise<Answer> => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: { ...bearer(token), ...(body === undefined ? {} : { 'content-type': contentType }) },
      body,
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, body: parsed };
  };

  /** No 5xx; a refusal is JSON `{ error: { code, message } }` and nothing else, in plain text. */
  const expectWellFormed = (answer: Answer, label: string) => {
    expect(answer.status, `${label}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
    if (answer.status < 400) return;
    expect(answer.contentType, label).toMatch(/^application\/json/);
    if (answer.status === 422 && label.startsWith('POST /api/members/:id/faces') && 'rejected' in (answer.body ?? {})) {
      // The route's documented answer when no photo was usable: each rejected photo with its reason.
      expect(answer.body.faces, label).toEqual([]);
      for (const r of answer.body.rejected) expect(Object.keys(r).sort(), label).toEqual(['label', 'message', 'reason']);
      return;
    }
    expect(Object.keys(answer.body ?? {}), `${label}: ${answer.text.slice(0, 300)}`).toEqual(['error']);
    expect(Object.keys(answer.body.error).sort(), label).toEqual(['code', 'message']);
    expect(answer.body.error.code, label).toMatch(/^[A-Za-z][A-Za-z0-9_.-]*$/);
    expect(typeof answer.body.error.message, label).toBe('string');
    expect(answer.body.error.message.length, label).toBeGreaterThan(0);
    // The refusal never echoes the hostile characters back to whoever shows it.
    expect(freeTextProblem(answer.body.error.message), `${label}: ${answer.body.error.message}`).toBeUndefined();
  };

  const setPath = (body: Body, path: string, value: Json | undefined): Body => {
    const copy = structuredClone(body);
    const keys = path.split('.');
    let target: any = copy;
    for (const key of keys.slice(0, -1)) target = target[key];
    if (value === undefined) delete target[keys.at(-1)!];
    else target[keys.at(-1)!] = value;
    return copy;
  };

  const stringPaths = (body: Json, prefix = ''): string[] =>
    body !== null && typeof body === 'object' && !Array.isArray(body)
      ? Object.entries(body).flatMap(([key, value]) =>
          typeof value === 'string' ? [`${prefix}${key}`] : stringPaths(value, `${prefix}${key}.`),
        )
      : [];
  const fieldPaths = (body: Json, prefix = ''): string[] =>
    body !== null && typeof body === 'object' && !Array.isArray(body)
      ? Object.entries(body).flatMap(([key, value]) => [`${prefix}${key}`, ...fieldPaths(value, `${prefix}${key}.`)])
      : [];

  it('knows a valid body for every write route in ROUTE_ROLES', () => {
    expect(writeRoutes.length).toBeGreaterThanOrEqual(10);
    expect(Object.keys(ROUTES).sort()).toEqual([...writeRoutes].sort());
  });

  it('answers broken, mistyped and oversized whole bodies without a 5xx', async () => {
    const deepArray = `${'['.repeat(DEEP)}${']'.repeat(DEEP)}`;
    const deepObject = `${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}`;
    const raw: { label: string; body: string | Uint8Array | undefined; type?: string }[] = [
      { label: 'no body', body: undefined },
      { label: 'empty body', body: '' },
      { label: 'broken JSON', body: '{"name": "x",' },
      { label: 'single quotes', body: "{'name': 'x'}" },
      { label: 'trailing garbage', body: '{"name":"x"} trailing' },
      { label: 'JSON null', body: 'null' },
      { label: 'JSON string', body: '"name"' },
      { label: 'JSON number', body: '1e999' },
      { label: 'JSON array', body: '[{"name":"x"}]' },
      { label: 'NUL bytes', body: new Uint8Array([0x7b, 0x00, 0x00, 0x7d]) },
      { label: 'invalid UTF-8', body: new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
      { label: 'deeply nested array', body: deepArray },
      { label: 'deeply nested object', body: deepObject },
      { label: 'deep nesting in a field', body: `{"name":${deepArray},"code":${deepArray},"amount":${deepArray}}` },
      { label: 'over the JSON limit', body: `{"name":"${'x'.repeat(JSON_LIMIT_BYTES + 10)}"}` },
      { label: 'prototype keys', body: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}' },
      { label: 'duplicate keys', body: '{"name":"a","name":"b","answer":"granted","answer":"declined"}' },
      { label: 'JSON as text/plain', body: '{"name":"x"}', type: 'text/plain' },
      { label: 'form-encoded', body: 'name=x&code=y', type: 'application/x-www-form-urlencoded' },
      { label: 'unsupported charset', body: '{"name":"x"}', type: 'application/json; charset=ibm500' },
      { label: 'multipart without boundary', body: '--x\r\n', type: 'multipart/form-data' },
      { label: 'multipart cut short', body: `--b\r\n${part('photo', 'x.jpg')}\r\n\r\nxx`, type: 'multipart/form-data; boundary=b' },
      { label: 'multipart with a file under another name', body: form(part('other', 'x.jpg')), type: 'multipart/form-data; boundary=b' },
      { label: 'multipart with six photos', body: form(...Array.from({ length: 6 }, (_, i) => part('photo', `${i}.jpg`))), type: 'multipart/form-data; boundary=b' },
      {
        label: 'multipart with a NUL staff name',
        body: form(part('photo', 'x.jpg'), field('consentMethod', 'written'), field('staff', 'a\u0000b')),
        type: 'multipart/form-data; boundary=b',
      },
      { label: 'an image that is no image', body: new Uint8Array([0xff, 0xd8, 0xff, 0x00, 0x01]), type: 'image/jpeg' },
    ];
    for (const key of writeRoutes) {
      const [method] = key.split(' ') as [string];
      const route = ROUTES[key]!;
      for (const { label, body, type } of raw) {
        expectWellFormed(await send(method, route.path(), tokenFor(key), body, type), `${key} with ${label}`);
      }
    }
  });

  it('answers hostile path parameters without a 5xx', async () => {
    const hostile = ['%00', 'a%00b', '%E2%80%AE', '%FF', '..%2F..%2Fetc', 'x'.repeat(2000)];
    for (const key of writeRoutes) {
      const [method, template] = key.split(' ') as [string, string];
      for (const value of hostile) {
        const path = template.replace(/:\w+/g, value);
        expectWellFormed(await send(method, path, tokenFor(key), JSON.stringify(ROUTES[key]!.body())), `${key} at ${path.slice(0, 80)}`);
      }
    }
  });

  it('answers wrong types, missing and extra fields and odd strings in every field without a 5xx', async () => {
    for (const key of writeRoutes) {
      const [method] = key.split(' ') as [string];
      const route = ROUTES[key]!;
      const post = (body: Body, label: string) =>
        send(method, route.path(), tokenFor(key), JSON.stringify(body)).then((answer) => expectWellFormed(answer, `${key} ${label}`));
      await post(route.body(), 'valid body');
      await post({ ...route.body(), extra: 'field' }, 'extra field');
      await post({ ...route.body(), isAdmin: true, role: 'admin' }, 'extra privileges');
      for (const path of fieldPaths(route.body())) {
        await post(setPath(route.body(), path, undefined), `without ${path}`);
        for (const value of WRONG_VALUES) await post(setPath(route.body(), path, value), `${path}=${JSON.stringify(value)}`);
      }
      for (const path of stringPaths(route.body())) {
        for (const value of [...CONTROL_STRINGS, ...ODD_STRINGS]) await post(setPath(route.body(), path, value), `${path}=${JSON.stringify(value).slice(0, 40)}`);
      }
    }
  });

  it('refuses control and bidi-control characters in every free-text field with a 400 naming the field', async () => {
    let checked = 0;
    for (const key of writeRoutes) {
      const [method] = key.split(' ') as [string];
      const route = ROUTES[key]!;
      for (const path of route.freeText) {
        for (const value of CONTROL_STRINGS) {
          const label = `${key} ${path}=${JSON.stringify(value)}`;
          const answer = await send(method, route.path(), tokenFor(key), JSON.stringify(setPath(route.body(), path, value)));
          expectWellFormed(answer, label);
          expect(answer.status, `${label}: ${answer.text}`).toBe(400);
          expect(answer.body.error.code, label).toBe('invalid-input');
          expect(answer.body.error.message, label).toMatch(new RegExp(`${path.replace('.', '\\.')}: contains a (control|bidirectional-control) character \\(U\\+[0-9A-F]{4}\\); remove it`));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(9 * CONTROL_STRINGS.length);
  });

  it('refuses the names "\\u0000", "a\\u0000b" and "\\u202e" with a 400 that says what to do', async () => {
    const cases: [string, RegExp][] = [
      ['\u0000', /name: contains a control character \(U\+0000\); remove it and send plain text/],
      ['a\u0000b', /name: contains a control character \(U\+0000\); remove it and send plain text/],
      ['\u202e', /name: contains a bidirectional-control character \(U\+202E\); remove it and send plain text/],
    ];
    const before = (await (await fetch(`${app.url}/api/members?limit=500`, { headers: bearer(tokens.admin) })).json()) as { members: unknown[] };
    for (const [name, message] of cases) {
      const answer = await postJson(`${app.url}/api/members`, tokens.admin, { name });
      expect(answer.status, JSON.stringify(name)).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'invalid-input', message: expect.stringMatching(message) } });
    }
    const after = (await (await fetch(`${app.url}/api/members?limit=500`, { headers: bearer(tokens.admin) })).json()) as { members: unknown[] };
    expect(after.members.length).toBe(before.members.length);
  });

  it('stores a decomposed name composed (NFC)', async () => {
    const created = await postJson(`${app.url}/api/members`, tokens.admin, { name: '  Ame\u0301lie  ' });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('Am\u00e9lie');
    const read = await fetch(`${app.url}/api/members/${created.body.id}`, { headers: bearer(tokens.admin) });
    expect(((await read.json()) as { name: string }).name).toBe('Am\u00e9lie');
    const single = await postJson(`${app.url}/api/members`, tokens.admin, { name: 'e\u0301' });
    expect(single.body.name).toBe('\u00e9');
  });
});
