import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ApiToken, Role } from '../ledger/index.js';
import { HttpError } from './httpErrors.js';

export type TokenVerifier = (token: string) => ApiToken | undefined;

declare module 'express-serve-static-core' {
  interface Request {
    principal?: ApiToken;
  }
}

/** Reads `Authorization: Bearer <token>`; 401 without a valid token, 403 for a role not allowed here. */
export function requireRole(verify: TokenVerifier, ...roles: Role[]): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      return next(new HttpError(401, 'Send "Authorization: Bearer <token>"; tokens are printed at first start or made with "memberlens tokens create".', 'unauthenticated'));
    }
    const principal = verify(match[1]!);
    if (!principal) return next(new HttpError(401, 'The token is unknown or revoked; ask the admin for a new one.', 'unauthenticated'));
    if (!roles.includes(principal.role)) {
      return next(new HttpError(403, `A ${principal.role} token cannot do this; it needs one of: ${roles.join(', ')}.`, 'forbidden'));
    }
    req.principal = principal;
    next();
  };
}

/** Who acted, for the processing log: the token's id and label, never the token. */
export function actorOf(req: Request): string {
  const p = req.principal;
  return p ? `${p.role}:${p.id}` : 'anonymous';
}
