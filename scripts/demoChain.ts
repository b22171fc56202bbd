/**
 * `npm run demo:chain`: a chain owner's day, told as it happens against the real pieces — a
 * throwaway PostgreSQL, `memberlens hq serve`, and two branches running the till service.
 * A customer joins at one branch and is greeted by face at the other, her points and stored
 * value are the same at both, and a branch whose internet goes down keeps selling and catches up.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { cameraFrame } from './cameraFrames.js';
import { hqCommand, startHqProcess } from './hqProcess.js';
import { startPostgres } from './postgresCluster.js';
import { startServiceProcess, type ServiceProcess } from './serviceProcess.js';
import { startTcpProxy } from './tcpProxy.js';

const say = (text: string) => console.log(text);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;

const faceKeyFile = path.join(tmpdir(), `memberlens-demo-chain-${process.pid}.key`);
writeFileSync(faceKeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
const branchSettings = (storeId: string, hqUrl: string, token: string) => ({
  logLevel: 'error',
  demo: { seedFolder: '' },
  backup: { intervalHours: 0 },
  inference: { workers: 1 },
  lanes: [{ id: 'counter', camera: { kind: 'http-push' } }],
  chain: { hqUrl, storeId, token, syncEveryMs: 500, requestTimeoutMs: 2000, faceKeyFile },
});

async function call(s: ServiceProcess, role: string, method: string, route: string, body?: unknown, type = 'application/json') {
  const res = await fetch(`${s.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${s.tokens[role]}`, ...(body === undefined ? {} : { 'content-type': type }) },
    body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('the demo waited too long; is the machine very busy?');
    await sleep(250);
  }
}

const member = async (s: ServiceProcess, id: string) => (await call(s, 'admin', 'GET', `/api/members/${id}`)).body;

const postgres = await startPostgres();
const started: { stop(): Promise<void> }[] = [];
const sockets: Socket[] = [];
try {
  say('A chain of two tea shops: 宝山店 (branch A) and 静安店 (branch B), with HQ on PostgreSQL.\n');
  const a = await hqCommand(postgres.url, 'stores', 'add', 'baoshan');
  const b = await hqCommand(postgres.url, 'stores', 'add', 'jingan');
  const owner = await hqCommand(postgres.url, 'owners', 'add', 'owner');
  const hq = await startHqProcess(postgres.url);
  started.push(hq);
  const link = await startTcpProxy(hq.port); // branch A's internet line, which we will cut
  started.push({ stop: () => link.close() });
  const storeA = await startServiceProcess(branchSettings('baoshan', link.url, a.token!));
  started.push(storeA);
  const storeB = await startServiceProcess(branchSettings('jingan', hq.url, b.token!));
  started.push(storeB);
  say(`HQ runs at ${hq.url}; each branch joined with its own token (memberlens hq stores add).`);

  // 1. She joins at A by paying.
  const paid = await call(storeA, 'pos', 'POST', '/api/payments', { orderId: 'A-1001', lane: 'counter', channel: 'wechat', appId: 'tea-app', payerId: 'o_amy_openid', amount: 68, paidAt: new Date().toISOString() });
  const amy = paid.body.memberId as string;
  say(`\n① At 宝山店 a first-time customer pays ¥68 by WeChat: she is member ${amy} now (支付即会员), ${paid.body.pointsEarned} points.`);
  await call(storeA, 'pos', 'POST', `/api/members/${amy}/recharges`, { rechargeId: 'A-R1', amount: 300 });
  say('   She tops up ¥300 of stored value.');
  await call(storeA, 'admin', 'POST', `/api/members/${amy}/faces?consentMethod=written&staff=xiaoli`, new Uint8Array(readFileSync('test/fixtures/faces/amy/amy1.png')), 'image/png');
  const consent = await call(storeA, 'admin', 'POST', `/api/members/${amy}/chain-consent`, { method: 'written', staff: 'xiaoli' });
  say(`   She agrees to face recognition here, and separately to recognition at every branch (${consent.body.sharedFaces} face shared, sealed with a key HQ never has).`);

  // 2. She is greeted by face at B.
  await until(async () => ((await call(storeB, 'admin', 'GET', '/api/recognition/operating-point')).body.membersWithFaces === 1 ? true : undefined));
  const tillB = io(`${storeB.url}/till`, { auth: { token: storeB.tokens.till, lane: 'counter' }, transports: ['websocket'] });
  sockets.push(tillB);
  const greeted = new Promise<any>((resolve) =>
    tillB.on('member:recognized', (p: any, ack?: () => void) => {
      ack?.();
      resolve(p);
    }),
  );
  const frame = await cameraFrame(readFileSync('test/fixtures/faces/amy/amy2.png'), { facePx: 220 });
  let popup: any;
  for (let i = 0; i < 60 && !popup; i++) {
    await call(storeB, 'device', 'POST', '/api/lanes/counter/frames', new Uint8Array(frame), 'image/jpeg');
    popup = await Promise.race([greeted, sleep(250).then(() => undefined)]);
  }
  say(`\n② Next week she walks into 静安店. Before she says a word the till shows: ${popup?.name ?? '(no popup)'}, tier ${popup?.tier?.name}, ${popup?.points} points, balance ¥${popup?.balance}.`);

  // 3. Points are shared.
  const atB = await call(storeB, 'pos', 'POST', '/api/payments', { orderId: 'B-2001', lane: 'counter', channel: 'wechat', appId: 'tea-app', payerId: 'o_amy_openid', amount: 32, paidAt: new Date().toISOString() });
  say(`③ She pays ¥32 at 静安店 with the same WeChat: the same member (${atB.body.memberId === amy ? 'yes' : 'NO'}), +${atB.body.pointsEarned} points.`);
  await until(async () => ((await member(storeA, amy)).membership.points === (await member(storeB, amy)).membership.points ? true : undefined));
  say(`   宝山店 and 静安店 both show ${(await member(storeA, amy)).membership.points} points.`);

  // 4. A goes offline.
  link.cut();
  say('\n④ 宝山店\'s internet goes down.');
  const offlineSale = await call(storeA, 'pos', 'POST', '/api/payments', { orderId: 'A-1002', lane: 'counter', channel: 'wechat', appId: 'tea-app', payerId: 'o_amy_openid', amount: 45, paidAt: new Date().toISOString() });
  say(`   It keeps selling: she pays ¥45 there (${offlineSale.status === 201 ? 'recorded' : offlineSale.status}), +${offlineSale.body.pointsEarned} points, to be synced later.`);
  const refused = await call(storeA, 'pos', 'POST', `/api/members/${amy}/deductions`, { orderId: 'A-1003', amount: 50, confirmation: { method: 'till-confirm', staff: 'xiaoli' } });
  say(`   She asks to pay ¥50 from her stored value; the till says (${refused.status}): “${refused.body.error?.message}”`);
  const spentAtB = await call(storeB, 'pos', 'POST', `/api/members/${amy}/deductions`, { orderId: 'B-2002', amount: 100, confirmation: { method: 'till-confirm', staff: 'ahua' } });
  say(`   Meanwhile her husband pays ¥100 from the same card at 静安店, authorized by HQ: balance ¥${spentAtB.body.balanceYuan}.`);

  // 5. A comes back.
  link.restore();
  say('\n⑤ The line comes back.');
  await until(async () => {
    const [ma, mb] = [await member(storeA, amy), await member(storeB, amy)];
    return ma.membership.points === mb.membership.points && ma.membership.balanceYuan === mb.membership.balanceYuan && ma.membership.points > popup.points + atB.body.pointsEarned ? [ma, mb] : undefined;
  });
  const [ma, mb] = [await member(storeA, amy), await member(storeB, amy)];
  say(`   Both branches agree: ${ma.membership.points} points, ¥${ma.membership.balanceYuan} stored value, tier ${ma.membership.tier.name} (静安店: ${mb.membership.points} points, ¥${mb.membership.balanceYuan}).`);

  // 6. The owner's view.
  const day = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
  const ownerGet = async (route: string) => (await (await fetch(`${hq.url}${route}`, { headers: { authorization: `Bearer ${owner.token}` } })).json()) as any;
  const overview = await ownerGet(`/api/hq/overview?from=${day(-1)}&to=${day(2)}`);
  const stores = await ownerGet('/api/hq/stores');
  say(`\n⑥ At HQ the owner sees the whole chain: members' sales ${yuan(overview.salesFen.total)}, ${overview.newMembers.total} new member(s).`);
  for (const s of overview.stores) {
    const status = stores.stores.find((x: any) => x.storeId === s.storeId);
    say(`   ${s.storeId}: ${yuan(s.salesFen.total)} in ${s.payments} payments, last sync ${status.lastSyncAt}, backlog ${status.backlog}.`);
  }
} finally {
  for (const s of sockets) s.close();
  for (const s of started.reverse()) await s.stop().catch(() => undefined);
  await postgres.stop();
  rmSync(faceKeyFile, { force: true });
}
