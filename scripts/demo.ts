/**
 * `npm run demo` — a scripted day at one lane, told the way a shop owner would tell it.
 *
 * Starts the service (`node dist/main.js`) on a fresh data folder with one lane whose camera
 * pushes frames, a till screen connected over Socket.IO, and the local fake payment provider;
 * then plays the day: a first-time customer pays by WeChat and becomes a member (支付即会员),
 * agrees to face recognition at the till, is greeted by face on the next visit with the tier
 * discount, spends enough to reach Gold, and a stranger who stays unknown.
 */
import { readFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { fakePayerId } from '../src/fusion/paymentProvider.js';
import { cameraFrame } from './cameraFrames.js';
import { startServiceProcess } from './serviceProcess.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (text: string) => console.log(text);
const yuan = (v: number) => `¥${v.toFixed(2)}`;
const discount = (rate: number) => (rate >= 1 ? 'no discount' : `${Math.round((1 - rate) * 100)}% off`);

const service = await startServiceProcess({
  logLevel: 'warn',
  demo: { seedFolder: '' },
  backup: { intervalHours: 0 },
  lanes: [{ id: 'counter', camera: { kind: 'http-push' } }],
  checkout: { consentPolicy: 'confirm', paymentProvider: 'local-fake' },
  membership: {
    tiers: [
      { name: 'Regular', discountRate: 1, minSpendYuan: 0 },
      { name: 'Gold', discountRate: 0.9, minSpendYuan: 200 },
    ],
    pointsPerYuan: 1,
  },
});
const { url, tokens } = service;
const events: { name: string; payload: any }[] = [];
const till = io(`${url}/till`, { auth: { token: tokens.till, lane: 'counter' }, transports: ['websocket'] });
till.onAny((name: string, payload: unknown, ack?: unknown) => {
  if (name !== 'session:mark') events.push({ name, payload });
  if (typeof ack === 'function') ack();
});
await new Promise<void>((r) => till.once('connect', () => r()));

async function post(route: string, body: unknown, role: string): Promise<any> {
  const res = await fetch(`${url}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens[role]}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { ...((await res.json()) as object), httpStatus: res.status };
}
async function get(route: string): Promise<any> {
  const res = await fetch(`${url}${route}`, { headers: { authorization: `Bearer ${tokens.admin}` } });
  return res.json();
}
async function customerAtCounter(face: string | undefined, seconds: number): Promise<void> {
  const frame = face ? await cameraFrame(readFileSync(`test/fixtures/faces/${face}`), { facePx: 220 }) : await cameraFrame();
  for (let i = 0; i < seconds * 4; i++) {
    await fetch(`${url}/api/lanes/counter/frames`, { method: 'POST', headers: { authorization: `Bearer ${tokens.device}`, 'content-type': 'image/jpeg' }, body: frame });
    await sleep(250);
  }
}
async function next(name: string, after: number, timeoutMs = 8000): Promise<any | undefined> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    const found = events.slice(after).find((e) => e.name === name);
    if (found) return found.payload;
    await sleep(100);
  }
  return undefined;
}
let orderNo = 0;
async function pay(authCode: string, amount: number, extra: { paidAtMs?: number; couponId?: string } = {}) {
  const orderId = `order-${++orderNo}`;
  const paidAt = new Date(extra.paidAtMs ?? Date.now()).toISOString();
  const coupon = extra.couponId === undefined ? {} : { couponId: extra.couponId };
  return post('/api/payments', { orderId, lane: 'counter', channel: 'wechat', appId: 'fake-app', payerId: fakePayerId('wechat', authCode), amount, paidAt, ...coupon }, 'pos');
}

let failures = 0;
const check = (ok: boolean, text: string) => {
  if (!ok) failures++;
  say(`   ${ok ? '✓' : '✗'} ${text}`);
};

try {
  say(`\nmemberlens demo — one lane, "counter", service at ${url}\n`);

  say('09:05  A customer we have never seen walks up and pays ¥58.00 with WeChat Pay.');
  await customerAtCounter('amy/amy2.png', 2);
  let mark = events.length;
  const scan = await post('/api/lanes/counter/scans', { code: '134567890123456789' }, 'device');
  check(scan.kind === 'payment' && !scan.memberId, `scanner read a ${scan.channel} payment code; not a member yet (the code itself is never stored)`);
  const first = await pay('134567890123456789', 58);
  const enrolled = await next('member:enrolled', mark);
  check(first.created === true && enrolled?.via === 'payment', `paying made them a member: "${enrolled?.name}", tier ${enrolled?.tier?.name}, +${first.pointsEarned} points`);
  const ask = await next('consent:requested', mark);
  check(ask !== undefined, 'the till asks: "May we recognize you by face next time?"');
  const answer = await post(`/api/lanes/counter/consents/${ask?.requestId}`, { answer: 'granted', staff: 'Lin (cashier)' }, 'till');
  check(answer.enrolled === true, 'the customer says yes; the cashier taps 同意 and the face is enrolled with the consent recorded');
  await customerAtCounter(undefined, 3);

  say('\n11:40  The same customer comes back. Nobody asks for a phone number.');
  mark = events.length;
  await customerAtCounter('amy/amy3.png', 3);
  const greeted = await next('member:recognized', mark);
  check(greeted?.memberId === first.memberId, `the till shows "${greeted?.name}" — ${greeted?.tier?.name}, ${discount(greeted?.tier?.discountRate ?? 1)}, ${greeted?.points} points, balance ${yuan(greeted?.balance ?? 0)}`);
  mark = events.length;
  await post('/api/lanes/counter/scans', { code: '139876543210456789' }, 'device');
  const second = await pay('139876543210456789', 168);
  const upgrade = await next('tier:changed', mark);
  check(upgrade?.to?.name === 'Gold', `they pay ¥168.00; with ¥226.00 spent they move up from ${upgrade?.from?.name} to ${upgrade?.to?.name} (${discount(upgrade?.to?.discountRate ?? 1)} from now on)`);
  check(second.face === 'confirmed', 'the face at the counter and the payer agree');
  await customerAtCounter(undefined, 3);

  say('\n15:20  Someone who is not a member stands at the counter.');
  mark = events.length;
  await customerAtCounter('stuart/stuart1.png', 3);
  await sleep(500);
  check(events.slice(mark).every((e) => e.name !== 'member:recognized'), 'no member popup: the till only notes an unrecognized customer');
  check(events.slice(mark).some((e) => e.name === 'face:unknown'), 'their face was compared in memory and is not kept');

  say('\n16:30  A regular who used to come every other day has not been in for 100 days. They show their member QR.');
  const DAY = 86_400_000;
  const regularCode = '137777777777700042';
  const past = await pay(regularCode, 88, { paidAtMs: Date.now() - 104 * DAY });
  await pay(regularCode, 88, { paidAtMs: Date.now() - 102 * DAY });
  await pay(regularCode, 88, { paidAtMs: Date.now() - 100 * DAY });
  const regular = past.memberId as string;
  check((await get(`/api/members/${regular}`)).segment?.lifecycle === 'dormant', 'the ledger says they are dormant: three purchases, the last one 100 days ago');
  mark = events.length;
  const qr = await get(`/api/members/${regular}/qr`);
  await post('/api/lanes/counter/scans', { code: qr.code }, 'device');
  const shown = await next('scan:classified', mark);
  const welcome = shown?.prompts?.find((p: any) => p.kind === 'dormant-welcome');
  check(welcome !== undefined, `the till says: "${welcome?.message}" (${welcome?.messageEn})`);
  for (const p of shown?.prompts ?? []) if (p !== welcome) say(`      and: "${p.message}"`);
  const tapped = await post('/api/lanes/counter/coupons', { couponId: welcome?.couponId }, 'till');
  check(tapped.couponId === welcome?.couponId, 'the cashier taps 用券 on the card');
  const back = await pay(regularCode, 80);
  check(back.coupon?.discountYuan === 10, `they buy ¥80.00 of goods; the coupon takes ${yuan(back.coupon?.discountYuan ?? 0)} off and they pay ${yuan(back.coupon?.paidYuan ?? 0)}`);
  const twice = await pay(regularCode, 80, { couponId: welcome?.couponId });
  check(twice.httpStatus === 409 && twice.error?.code === 'COUPON_USED', 'the same coupon on another order is refused (409 COUPON_USED): a coupon is used once');
  check((await get(`/api/members/${regular}`)).segment?.lifecycle === 'active', 'and they are an active member again');

  say(`\nEnd of day: ${failures === 0 ? 'everything happened as it should.' : `${failures} step(s) did not go as expected.`}\n`);
} finally {
  till.close();
  await service.stop();
}
process.exitCode = failures === 0 ? 0 : 1;
