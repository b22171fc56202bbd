import type { RequestHandler } from 'express';
import type { AuditLog } from '../ledger/index.js';
import { bearerToken, type TokenVerifier } from './authentication.js';

export interface LoginAuditOptions {
  verify: TokenVerifier;
  audit: AuditLog;
  /** An admin token's use is logged at most once per this long. */
  windowMs: number;
  clock?: () => number;
}

/**
 * Writes a 'login' entry to the processing log when an admin token is used, at most once per
 * token per window: the admin page has no sessions, and a line per request would bury the
 * enrollments and deletions the log exists for. Refusing bad tokens is the route guards' job.
 */
export function recordAdminLogins(opts: LoginAuditOptions): RequestHandler {
  const clock = opts.clock ?? Date.now;
  // Token id → when its login was last written; bounded by the number of admin tokens.
  const lastLoggedAtMs = new Map<string, number>();
  return (req, _res, next) => {
    const token = bearerToken(req);
    const principal = token ? opts.verify(token) : undefined;
    if (principal?.role !== 'admin') return next();
    const now = clock();
    const known = lastLoggedAtMs.get(principal.id);
    if (known !== undefined && now - known < opts.windowMs) return next();
    try {
      const actor = `${principal.role}:${principal.id}`;
      // After a restart the memory is empty; the log itself says whether this window has its line.
      const previous = opts.audit.latest('login', actor, now - opts.windowMs + 1);
      lastLoggedAtMs.set(principal.id, previous ? previous.atMs : opts.audit.record({ actor, action: 'login', details: { via: 'http' } }).atMs);
      next();
    } catch (err) {
      next(err);
    }
  };
}
