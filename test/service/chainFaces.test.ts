import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hqCommand, startHqProcess, type HqProcess } from '../../scripts/hqProcess.js';
import { startPostgres, type PostgresCluster } from '../../scripts/postgresCluster.js';
import { startServiceProcess, type ServiceProcess } from '../../scripts/serviceProcess.js';
import { loadFaceKey, MemberStore } from '../../src/ledger/index.js';
import { faceCrop, faceFrame, standAtCounter, waitUntil } from '../support/frames.js';
import { defaultSettings, storeSettings } from '../support/settings.js';
import { recordingTill, type TillEvent } from '../support/till.js';

/**
 * Issue 13, chain faces: a face enrolled at A with chain-wide consent is recognized at B (a
 * real frame, B's running gallery, a popup on B's till); the member withdraws at B and A no
 * longer knows the face, gallery included; HQ's database files never hold the descriptor.
 */

const storeConfig = (storeId: string, hqUrl: string, token: string, faceKeyFile: string) => ({
  logLevel: 'warn',
  demo: { seedFolder: '' },
  backup: { intervalHours: 0 },
  inference: { workers: 1 },
  lanes: [{ id: 'lane1', camera: { kind: 'http-push' } }],
  chain: { hqUrl, storeId, token, syncEveryMs: 300, faceKeyFile },
});

async function call(s: ServiceProcess, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const json = body !== undefined && !(body instanceof Uint8Array);
  const res = await fetch(`${s.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${s.tokens.admin}`, ...(json ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : json ? JSON.stringify(body) : (body as Uint8Array),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const membersWithFaces = async (s: ServiceProcess) => (await call(s, 'GET', '/api/recognition/operating-point')).body.membersWithFaces as number;

/** Every file under `dir`, for a byte search. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

describe('chain faces: recognized at every branch with chain-wide consent, never readable at HQ', () => {
  let postgres: PostgresCluster;
  let hq: HqProcess;
  let db: pg.Pool;
  const stores: ServiceProcess[] = [];
  const sockets: { close(): void }[] = [];
  const faceKeyFile = path.join(tmpdir(), `memberlens-chain-face-${process.pid}.key`);

  beforeAll(async () => {
    if (!existsSync('dist/main.js')) throw new Error('dist/main.js is missing: run `npm run build` first (npm test does).');
    postgres = await startPostgres();
    db = new pg.Pool({ connectionString: postgres.url, max: 1 });
    // A connection still closing when the cluster stops gets PostgreSQL's 57P01; it must not end the run.
    db.on('error', () => undefined);
    // The owner installs the same chain face key at every branch; HQ never gets it.
    writeFileSync(faceKeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  }, 60_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const s of stores) await s.stop().catch(() => undefined);
    await hq?.stop();
    await db?.end();
    await postgres?.stop();
    rmSync(faceKeyFile, { force: true });
  }, 60_000);

  it('shares the face sealed, recognizes it at B, and forgets it at A when withdrawn at B', async () => {
    const a = await hqCommand(postgres.url, 'stores', 'add', 'store-a');
    const b = await hqCommand(postgres.url, 'stores', 'add', 'store-b');
    hq = await startHqProcess(postgres.url);
    const storeA = await startServiceProcess(storeConfig('store-a', hq.url, a.token!, faceKeyFile));
    stores.push(storeA);
    const storeB = await startServiceProcess(storeConfig('store-b', hq.url, b.token!, faceKeyFile));
    stores.push(storeB);

    // Amy joins at A with her face, then agrees to be recognized at every branch.
    const created = await call(storeA, 'POST', '/api/members', { name: 'Amy' });
    const amy = created.body.id as string;
    const enrolled = await call(storeA, 'POST', `/api/members/${amy}/faces?consentMethod=written&staff=lin`, new Uint8Array(faceCrop('amy/amy1.png')), { 'content-type': 'image/png' });
    expect(enrolled.status).toBe(201);
    expect((await call(storeA, 'POST', `/api/members/${amy}/chain-consent`, { method: 'written' })).status).toBe(400);
    const consent = await call(storeA, 'POST', `/api/members/${amy}/chain-consent`, { method: 'written', staff: 'lin' });
    expect(consent.status).toBe(201);
    expect(consent.body.sharedFaces).toBe(1);

    // B's running gallery takes the face within a sync cycle or two, and B's till greets her.
    await waitUntil(async () => (await membersWithFaces(storeB)) === 1, "Amy's face in B's gallery");
    const detailAtB = await call(storeB, 'GET', `/api/members/${amy}`);
    expect(detailAtB.body.faces.map((f: { source: string }) => f.source)).toEqual(['chain']);
    const tillB: TillEvent[] = [];
    sockets.push((await recordingTill(storeB.url, storeB.tokens.till!, 'lane1', tillB)).socket);
    const atB = standAtCounter(storeB.url, 'lane1', storeB.tokens.device!, await faceFrame('amy/amy2.png'));
    await waitUntil(() => tillB.some((e) => e.name === 'member:recognized' && e.payload.memberId === amy), 'Amy recognized at B');
    await atB.leave();

    // HQ holds her face only as ciphertext: no file of the PostgreSQL cluster holds the descriptor.
    const readA = MemberStore.open({ databaseFile: path.join(storeA.dir, 'memberlens.db'), faceKey: loadFaceKey({ keyFile: path.join(storeA.dir, 'face.key') }), ...storeSettings(defaultSettings) });
    const descriptor = [...readA.faces.loadAll()][0]!.descriptor;
    readA.close();
    const needle = Buffer.from(descriptor.buffer, descriptor.byteOffset, 64); // the first 16 dimensions, float32
    await db.query('CHECKPOINT');
    const sealed = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM chain_events WHERE kind = 'face' AND body ? 'sealed'");
    expect(sealed.rows[0]!.n).toBe(1);
    for (const file of filesUnder(postgres.dataDir)) expect(readFileSync(file).indexOf(needle), file).toBe(-1);

    // Her member QR from A works at B too (the chain signs it with one secret).
    const qr = await call(storeA, 'GET', `/api/members/${amy}/qr`);
    const scanned = await fetch(`${storeB.url}/api/lanes/lane1/scans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${storeB.tokens.device}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code: qr.body.code }),
    });
    expect(((await scanned.json()) as { kind: string; memberId: string })).toMatchObject({ kind: 'member-qr', memberId: amy });

    // She withdraws at B: A forgets her face, its gallery too, and her visit there is a stranger's.
    const withdrawn = await call(storeB, 'DELETE', `/api/members/${amy}/consent`);
    expect(withdrawn.body.deletedFaces).toBe(1);
    await waitUntil(async () => (await membersWithFaces(storeA)) === 0, "Amy's face gone from A's gallery", 30_000);
    expect((await call(storeA, 'GET', `/api/members/${amy}`)).body.faces).toEqual([]);
    const tillA: TillEvent[] = [];
    sockets.push((await recordingTill(storeA.url, storeA.tokens.till!, 'lane1', tillA)).socket);
    const atA = standAtCounter(storeA.url, 'lane1', storeA.tokens.device!, await faceFrame('amy/amy2.png'));
    await waitUntil(() => tillA.some((e) => e.name === 'face:unknown'), 'Amy reported unknown at A');
    await atA.leave();
    expect(tillA.filter((e) => e.name === 'member:recognized')).toEqual([]);
    // And HQ scrubbed the sealed face.
    const left = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM chain_events WHERE kind = 'face' AND body ? 'sealed'");
    expect(left.rows[0]!.n).toBe(0);
  }, 300_000);
});
