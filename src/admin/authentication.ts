import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiToken, Role } from '../ledger/index.js';
import { HttpError } from './httpErrors.js';
import { ROUTE_ROLES, type RouteKey } from './routeRoles.js';

export type TokenVerifier = (token: string) => ApiToken | undefined;

declare module 'express-serve-static-core' {
  interface Request {
    principal?: ApiToken;
  }
}

/** The token of `Authorization: Bearer <token>`, or undefined without one. */
export function bearerToken(req: Request): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  return match?.[1];
}

/** Reads `Authorization: Bearer <token>`; 401 without a valid token, 403 for a role not allowed here. */
export function requireRole(verify: TokenVerifier, ...roles: Role[]): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = bearerToken(req);
    if (!token) {
      return next(new HttpError(401, 'Send "Authorization: Bearer <token>"; tokens are printed at first start or made with "memberlens tokens create".', 'unauthenticated'));
    }
    const principal = verify(token);
    if (!principal) return next(new HttpError(401, 'The token is unknown or revoked; ask the admin for a new one.', 'unauthenticated'));
    if (!roles.includes(principal.role)) {
      return next(new HttpError(403, `A ${principal.role} token cannot do this; it needs one of: ${roles.join(', ')}.`, 'forbidden'));
    }
    req.principal = principal;
    next();
  };
}

/** Guards for routes by their `METHOD /path`, with the roles ROUTE_ROLES gives them. */
export function routeGuard(verify: TokenVerifier): (route: RouteKey) => RequestHandler {
  return (route) => requireRole(verify, ...ROUTE_ROLES[route]);
}

/** Who acted, for the processing log: the token's id and label, never the token. */
export function actorOf(req: Request): string {
  const p = req.principal;
  return p ? `${p.role}:${p.id}` : 'anonymous';
}
