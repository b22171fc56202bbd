import express from 'express';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { assertRoutesDeclared, listRoutes, PUBLIC_ROUTES, ROUTE_ROLES } from '../../src/admin/routeRoles.js';
import { ROLES, type Role } from '../../src/ledger/index.js';
import { bearer, startTestApp, type TestApp } from '../support/testApp.js';

/** Sample values for path parameters; a 404 for a made-up id still proves the guard let the call through. */
const PARAMS: Record<string, string> = { id: 'm_nobody', faceId: 'f_nobody', lane: 'lane1', orderId: 'o-nobody', requestId: 'r-nobody' };

const ENROLL_PER_MINUTE = 3;
const FRAMES_PER_MINUTE = 4;

/**
 * Every route of the running service, found by walking the express router rather than listed
 * by hand, called with no token, a forged token, each role the route does not allow and each
 * role it does; the till socket with every kind of token; the per-token rate limits.
 */
describe('access control on every route and on the till socket', () => {
  let service: TestApp;
  let app: RunningApp;
  let tokens: Record<Role, string>;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    service = await startTestApp('access', {
      lanes: [{ id: 'lane1', camera: { kind: 'http-push' } }, { id: 'lane2', camera: { kind: 'http-push' } }],
      security: { enrollPerMinute: ENROLL_PER_MINUTE, pushedFramesPerMinute: FRAMES_PER_MINUTE },
    });
    ({ app, tokens } = service);
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await service?.stop();
  });

  const call = async (method: string, route: string, token?: string) => {
    const res = await fetch(`${app.url}${route}`, { method, headers: token ? bearer(token) : {} });
    const text = await res.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    } catch {
      code = undefined; // CSV, metrics text
    }
    return { status: res.status, code, text, headers: res.headers };
  };

  const concrete = (routePath: string) => routePath.replace(/:(\w+)/g, (_m, name: string) => PARAMS[name] ?? `x-${name}`);

  it('finds the routes by walking the router, mounted routers included', () => {
    const keys = listRoutes(app.adminApp).map((r) => r.key);
    // A walker that silently found nothing would make the next test vacuous.
    for (const key of ['GET /healthz', 'POST /api/members', 'POST /api/payments', 'POST /api/lanes/:lane/consents/:requestId', 'GET /api/audit.csv']) {
      expect(keys).toContain(key);
    }
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('has roles for every route and a route for every table entry', () => {
    const keys = listRoutes(app.adminApp).map((r) => r.key);
    const guarded = keys.filter((k) => !PUBLIC_ROUTES.includes(k));
    expect(guarded.filter((k) => !(k in ROUTE_ROLES))).toEqual([]);
    expect(Object.keys(ROUTE_ROLES).filter((k) => !keys.includes(k))).toEqual([]);
    expect(PUBLIC_ROUTES.filter((k) => !keys.includes(k))).toEqual([]);
  });

  it('refuses to build an app with a route that has no roles', () => {
    const rogue = express();
    rogue.get('/metrics', (_req, res) => res.end());
    rogue.post('/api/members/:id/nicknames', (_req, res) => res.end());
    expect(() => assertRoutesDeclared(rogue)).toThrow(/routes without roles: .*POST \/api\/members\/:id\/nicknames/);
  });

  it('answers every guarded route: no token 401, forged token 401, wrong role 403, allowed role through', async () => {
    const routes = listRoutes(app.adminApp).filter((r) => !PUBLIC_ROUTES.includes(r.key));
    expect(routes.length).toBeGreaterThanOrEqual(Object.keys(ROUTE_ROLES).length);
    const seen: string[] = [];
    for (const route of routes) {
      const allowed = ROUTE_ROLES[route.key as keyof typeof ROUTE_ROLES] as readonly Role[];
      const url = concrete(route.path);
      const label = `${route.key} (${url})`;

      const anonymous = await call(route.method, url);
      expect(anonymous.status, `${label} without a token`).toBe(401);
      expect(anonymous.code).toBe('unauthenticated');
      const forged = await call(route.method, url, 'ml_admin_forgedforgedforgedforgedforgedforged');
      expect(forged.status, `${label} with a forged token`).toBe(401);

      for (const role of ROLES) {
        const res = await call(route.method, url, tokens[role]);
        if (allowed.includes(role)) {
          expect([401, 403], `${label} as ${role} (allowed): ${res.text.slice(0, 200)}`).not.toContain(res.status);
        } else {
          expect(res.status, `${label} as ${role} (not allowed)`).toBe(403);
          expect(res.code).toBe('forbidden');
        }
      }
      seen.push(route.key);
    }
    expect(seen.sort()).toEqual(Object.keys(ROUTE_ROLES).sort());
  });

  it('leaves the public routes open', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    const root = await fetch(`${app.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
  });

  it('lets only till and admin tokens onto the till socket', async () => {
    const attempt = (auth: Record<string, string>) =>
      new Promise<'connected' | string>((resolve) => {
        const socket = io(`${app.url}/till`, { auth, transports: ['websocket'], reconnection: false });
        sockets.push(socket);
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (err) => resolve(err.message));
      });
    expect(await attempt({ lane: 'lane1' })).toMatch(/token/);
    expect(await attempt({ token: 'ml_till_wrongwrongwrongwrongwrongwrongwrong', lane: 'lane1' })).toMatch(/token/);
    expect(await attempt({ token: tokens.device, lane: 'lane1' })).toMatch(/token/);
    expect(await attempt({ token: tokens.pos, lane: 'lane1' })).toMatch(/token/);
    expect(await attempt({ token: tokens.till, lane: 'lane1' })).toBe('connected');
    expect(await attempt({ token: tokens.admin, lane: 'lane1' })).toBe('connected');
  });

  it('rate-limits face enrollment per token with a 429 in the house format', async () => {
    const first = app.core.store.tokens.issue('admin', 'rate test 1').token;
    const second = app.core.store.tokens.issue('admin', 'rate test 2').token;
    const url = '/api/members/m_nobody/faces';
    for (let i = 0; i < ENROLL_PER_MINUTE; i++) expect((await call('POST', url, first)).status).toBe(404);
    const limited = await call('POST', url, first);
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.text)).toEqual({ error: { code: 'rate-limited', message: expect.stringMatching(/security\.enrollPerMinute/) } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another token has its own allowance; refusals for a missing token never count.
    expect((await call('POST', url, second)).status).toBe(404);
    expect((await call('POST', url)).status).toBe(401);
  });

  it('rate-limits pushed frames per token and lane', async () => {
    const camera = app.core.store.tokens.issue('device', 'rate test camera').token;
    // An empty body is refused after the limiter (415), without running inference.
    for (let i = 0; i < FRAMES_PER_MINUTE; i++) expect((await call('POST', '/api/lanes/lane1/frames', camera)).status).toBe(415);
    const limited = await call('POST', '/api/lanes/lane1/frames', camera);
    expect(limited.status).toBe(429);
    expect(limited.code).toBe('rate-limited');
    expect((await call('POST', '/api/lanes/lane2/frames', camera)).status).toBe(415);
  });
});
