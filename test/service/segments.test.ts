import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { LIFECYCLES, RFM_SEGMENTS } from '../../src/operations/segments.js';
import type { Role } from '../../src/ledger/index.js';
import { parseCsv } from '../support/csv.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';

const DAY = 86_400_000;
const CSV_HEADER = ['id', 'name', 'lifecycle', 'rfm', 'tags', 'lastPurchaseAt', 'purchases365', 'netSpend365Yuan'];

/**
 * Segments through the REST API of the running service: the member detail's `segment`, the
 * list filters, tags by hand, the CSV export, and what hostile filters get.
 */
describe('member segments over the API', () => {
  let service: TestApp;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  let seq = 0;
  const ids: Record<string, string> = {};

  // fetch's text() drops a leading BOM; the CSV test reads the bytes.
  const get = async (path: string) => {
    const res = await fetch(`${app.url}${path}`, { headers: bearer(tokens.admin) });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
  };
  const listIds = async (query: string) => {
    const answer = await get(`/api/members?limit=500&${query}`);
    expect(answer.status, answer.text).toBe(200);
    return (answer.body.members as { id: string }[]).map((m) => m.id).sort();
  };
  const pay = async (payerId: string, amount: string, paidAtMs: number) => {
    const answer = await postJson(`${app.url}/api/payments`, tokens.pos, {
      orderId: `seg-${++seq}`,
      lane: 'lane1',
      channel: 'wechat',
      appId: 'seg-app',
      payerId,
      amount,
      paidAt: new Date(paidAtMs).toISOString(),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body.memberId as string;
  };

  beforeAll(async () => {
    service = await startTestApp('segments');
    ({ app, tokens } = service);
    const now = Date.now();
    // Dormant: three purchases that ended 100 days ago (the member joined by paying now, so
    // the join is recent, but three purchases are more than a new member's one).
    ids.dormant = await pay('dormant-payer', '300.00', now - 104 * DAY);
    await pay('dormant-payer', '300.00', now - 102 * DAY);
    await pay('dormant-payer', '300.00', now - 100 * DAY);
    // Loyal and valuable: three purchases this week, ¥600.
    ids.loyal = await pay('loyal-payer', '200.00', now - 3 * DAY);
    await pay('loyal-payer', '200.00', now - 2 * DAY);
    await pay('loyal-payer', '200.00', now);
    // New: created at the admin desk, never bought; and a name a spreadsheet would run.
    ids.fresh = (await postJson(`${app.url}/api/members`, tokens.admin, { name: '=HYPERLINK("http://x","y")' })).body.id;
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('shows segment {lifecycle, rfm, tags} on the member detail', async () => {
    expect((await get(`/api/members/${ids.dormant}`)).body.segment).toEqual({ lifecycle: 'dormant', rfm: 'important-keep', tags: [] });
    expect((await get(`/api/members/${ids.loyal}`)).body.segment).toEqual({ lifecycle: 'loyal', rfm: 'important-value', tags: [] });
    expect((await get(`/api/members/${ids.fresh}`)).body.segment).toEqual({ lifecycle: 'new', rfm: 'general-retain', tags: [] });
  });

  it('a dormant member who pays again is active', async () => {
    const member = await pay('dormant-payer', '10.00', Date.now());
    expect(member).toBe(ids.dormant);
    expect((await get(`/api/members/${ids.dormant}`)).body.segment).toMatchObject({ lifecycle: 'active', rfm: 'important-value' });
  });

  it('filters the list by lifecycle, rfm and tag, alone and together', async () => {
    expect(await listIds('lifecycle=loyal')).toEqual([ids.loyal]);
    expect(await listIds('lifecycle=new')).toEqual([ids.fresh]);
    expect(await listIds('rfm=important-value')).toEqual([ids.dormant, ids.loyal].sort());
    expect(await listIds('rfm=general-retain')).toEqual([ids.fresh]);
    expect(await listIds('lifecycle=lost')).toEqual([]);
    expect(await listIds('lifecycle=loyal&rfm=general-value')).toEqual([]);
    expect(await listIds('')).toEqual([ids.dormant, ids.loyal, ids.fresh].sort());
    // Blank parameters, as a form left empty sends them, filter nothing.
    expect(await listIds('lifecycle=&rfm=&tag=')).toEqual([ids.dormant, ids.loyal, ids.fresh].sort());
  });

  it('tags members by hand, lists them by tag, and removes tags', async () => {
    const added = await postJson(`${app.url}/api/members/${ids.loyal}/tags`, tokens.admin, { tag: ' 老客户 ' });
    expect(added).toEqual({ status: 201, body: { memberId: ids.loyal, tags: ['老客户'] } });
    expect((await postJson(`${app.url}/api/members/${ids.loyal}/tags`, tokens.admin, { tag: '老客户' })).status).toBe(200);
    expect((await postJson(`${app.url}/api/members/${ids.fresh}/tags`, tokens.admin, { tag: 'VIP' })).status).toBe(201);
    expect((await postJson(`${app.url}/api/members/${ids.loyal}/tags`, tokens.admin, { tag: 'VIP' })).status).toBe(201);

    expect(await listIds(`tag=${encodeURIComponent('老客户')}`)).toEqual([ids.loyal]);
    expect(await listIds('tag=VIP')).toEqual([ids.fresh, ids.loyal].sort());
    expect(await listIds('tag=VIP&lifecycle=new')).toEqual([ids.fresh]);
    expect((await get(`/api/members/${ids.loyal}`)).body.segment.tags).toEqual(['VIP', '老客户']);

    const removed = await fetch(`${app.url}/api/members/${ids.fresh}/tags/VIP`, { method: 'DELETE', headers: bearer(tokens.admin) });
    expect(removed.status).toBe(204);
    expect(await listIds('tag=VIP')).toEqual([ids.loyal]);
    const again = await fetch(`${app.url}/api/members/${ids.fresh}/tags/VIP`, { method: 'DELETE', headers: bearer(tokens.admin) });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('tag-not-found');
    expect((await postJson(`${app.url}/api/members/m_nobody/tags`, tokens.admin, { tag: 'VIP' })).status).toBe(404);
  });

  it('exports the filtered list as CSV: BOM, CRLF, no phone numbers, formulas kept as text', async () => {
    const res = await fetch(`${app.url}/api/members.csv`, { headers: bearer(tokens.admin) });
    const bytes = Buffer.from(await res.arrayBuffer());
    const answer = { status: res.status, headers: res.headers, text: bytes.toString('utf8') };
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(answer.headers.get('content-disposition')).toMatch(/attachment; filename="?memberlens-members-\d{4}-\d{2}-\d{2}\.csv/);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(answer.text).not.toMatch(/1[3-9]\d{9}/);
    const [header, ...rows] = parseCsv(answer.text.slice(1));
    expect(header).toEqual(CSV_HEADER);
    expect(rows).toHaveLength(3);
    const byId = Object.fromEntries(rows.map((r) => [r[0]!, r]));
    expect(byId[ids.loyal!]).toEqual([ids.loyal, expect.stringMatching(/^会员 /), 'loyal', 'important-value', 'VIP;老客户', expect.stringMatching(/^\d{4}-.*Z$/), '3', '600.00']);
    expect(byId[ids.fresh!]).toEqual([ids.fresh, `'=HYPERLINK("http://x","y")`, 'new', 'general-retain', '', '', '0', '0.00']);

    const loyalOnly = parseCsv((await get('/api/members.csv?lifecycle=loyal&tag=VIP')).text);
    expect(loyalOnly.slice(1).map((r) => r[0])).toEqual([ids.loyal]);
    expect(parseCsv((await get('/api/members.csv?rfm=general-keep')).text)).toEqual([CSV_HEADER]);

    // The export is on record, without the tag text.
    const audit = await get('/api/audit.csv');
    expect(audit.text).toContain('"{""format"":""csv"",""what"":""members"",""lifecycle"":""loyal"",""rfm"":null,""byTag"":true}"');
  });

  it('refuses unknown lifecycles, segments and bad tags with 400 invalid-input', async () => {
    for (const query of ['lifecycle=sleeping', 'lifecycle=%20', 'rfm=important', 'rfm=IMPORTANT-VALUE', `tag=${'x'.repeat(33)}`, 'tag=a%00b', 'tag=%E2%80%AE']) {
      for (const path of ['/api/members', '/api/members.csv']) {
        const answer = await get(`${path}?${query}`);
        expect(answer.status, `${path}?${query}: ${answer.text}`).toBe(400);
        expect(answer.body.error.code).toBe('invalid-input');
      }
    }
    expect((await get('/api/members.csv?lifecycle=new&extra=1')).status).toBe(400);
    for (const body of [{}, { tag: '' }, { tag: 'x'.repeat(33) }, { tag: 'a\u0000b' }, { tag: 1 }, { tag: 'ok', extra: 1 }]) {
      const answer = await postJson(`${app.url}/api/members/${ids.loyal}/tags`, tokens.admin, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
    // Every name the contract lists is accepted.
    for (const lifecycle of LIFECYCLES) expect((await get(`/api/members?lifecycle=${lifecycle}`)).status).toBe(200);
    for (const rfm of RFM_SEGMENTS) expect((await get(`/api/members?rfm=${rfm}`)).status).toBe(200);
  });

  it('lets only admins tag and export', async () => {
    for (const role of ['till', 'device', 'pos'] as const) {
      expect((await postJson(`${app.url}/api/members/${ids.loyal}/tags`, tokens[role], { tag: 'x' })).status).toBe(403);
      expect((await fetch(`${app.url}/api/members.csv`, { headers: bearer(tokens[role]) })).status).toBe(403);
    }
  });
});
