import type { Express } from 'express';
import type { Role } from '../ledger/index.js';

/**
 * Who may call each API route: the one table the route guards are built from and the
 * access-control test walks, so the two cannot drift. A route mounted without an entry here
 * stops `createAdminApp` with an error, so a new route cannot ship unguarded by accident.
 */
export const ROUTE_ROLES = {
  'GET /metrics': ['admin'],
  'POST /api/members': ['admin'],
  'GET /api/members': ['admin'],
  'GET /api/members/inactive': ['admin'],
  'GET /api/members/:id': ['admin'],
  'DELETE /api/members/:id': ['admin'],
  'POST /api/members/:id/faces': ['admin'],
  'DELETE /api/members/:id/faces/:faceId': ['admin'],
  'DELETE /api/members/:id/consent': ['admin'],
  'POST /api/members/:id/chain-consent': ['admin'],
  'GET /api/lanes': ['admin'],
  // Cameras that push their frames hold device tokens.
  'POST /api/lanes/:lane/frames': ['device', 'admin'],
  // Scanners post as devices; a POS that reads the code itself posts as pos.
  'POST /api/lanes/:lane/scans': ['device', 'pos', 'admin'],
  'POST /api/payments': ['pos', 'admin'],
  'POST /api/payments/:orderId/refunds': ['pos', 'admin'],
  'POST /api/members/:id/recharges': ['pos', 'admin'],
  'POST /api/members/:id/deductions': ['pos', 'admin'],
  'GET /api/members/:id/qr': ['admin'],
  // The cashier answers the face-consent question on the till page.
  'POST /api/lanes/:lane/consents/:requestId': ['till', 'admin'],
  'GET /api/reviews': ['admin'],
  'GET /api/audit.csv': ['admin'],
  'GET /api/audit/retention': ['admin'],
  'GET /api/recognition/operating-point': ['admin'],
  'POST /api/members/:id/tags': ['admin'],
  'DELETE /api/members/:id/tags/:tag': ['admin'],
  'GET /api/members.csv': ['admin'],
  'GET /api/segments': ['admin'],
  'GET /api/analytics/overview': ['admin'],
  'GET /api/analytics/series': ['admin'],
  'GET /api/analytics/details': ['admin'],
  'POST /api/messages/campaigns': ['admin'],
  'GET /api/messages/campaigns/:id': ['admin'],
  // Coupons and campaigns: the owner's batches and rules; the POS and the till may read a member's coupons.
  'POST /api/coupons/batches': ['admin'],
  'GET /api/members/:id/coupons': ['admin', 'pos', 'till'],
  'GET /api/campaigns/rules': ['admin'],
  'PUT /api/campaigns/rules': ['admin'],
  'PATCH /api/members/:id': ['admin'],
  // The cashier applies a coupon prompt to the order with one tap.
  'POST /api/lanes/:lane/coupons': ['till', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export type RouteKey = keyof typeof ROUTE_ROLES;

/** Routes anyone on the network may call: the liveness probe and the redirect to the till page. */
export const PUBLIC_ROUTES: readonly string[] = ['GET /healthz', 'GET /'];

export interface MountedRoute {
  method: string;
  path: string;
  /** `METHOD /path`, the form the tables use. */
  key: string;
}

interface LayerLike {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
  rawPath?: unknown;
  slash?: boolean;
}

/** Every method and path the app answers, including those of routers mounted in it. Static files are not routes. */
export function listRoutes(app: Express): MountedRoute[] {
  const routes: MountedRoute[] = [];
  walk((app.router as unknown as { stack: LayerLike[] }).stack, '', routes);
  return routes;
}

function walk(stack: LayerLike[], prefix: string, out: MountedRoute[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const method of Object.keys(layer.route.methods)) {
        for (const p of paths) {
          const m = method === '_all' ? 'ALL' : method.toUpperCase();
          const full = `${prefix}${p}`;
          out.push({ method: m, path: full, key: `${m} ${full}` });
        }
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      // A mounted router; its routes are relative to where it is mounted.
      if (layer.slash) walk(layer.handle.stack, prefix, out);
      else if (typeof layer.rawPath === 'string') walk(layer.handle.stack, `${prefix}${layer.rawPath.replace(/\/$/, '')}`, out);
      else throw new Error('A router is mounted on a pattern that routeRoles cannot list; mount it on a plain path.');
    }
  }
}

/** Throws unless every mounted route has roles (or is public) and every table entry is mounted. */
export function assertRoutesDeclared(app: Express): void {
  const mounted = listRoutes(app).map((r) => r.key);
  const declared = new Set<string>([...Object.keys(ROUTE_ROLES), ...PUBLIC_ROUTES]);
  const undeclared = mounted.filter((key) => !declared.has(key));
  const stale = [...declared].filter((key) => !mounted.includes(key));
  if (undeclared.length > 0 || stale.length > 0) {
    throw new Error(
      [
        undeclared.length > 0 ? `routes without roles: ${undeclared.join(', ')} — add them to ROUTE_ROLES in src/admin/routeRoles.ts` : '',
        stale.length > 0 ? `ROUTE_ROLES entries with no route: ${stale.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    );
  }
}
