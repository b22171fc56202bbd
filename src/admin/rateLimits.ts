import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { HttpError } from './httpErrors.js';

export interface PerMinuteLimit {
  /** What is being counted, as the refusal names it: "face enrollments". */
  what: string;
  perMinute: number;
  /** The setting that holds `perMinute`, so the refusal says what to change. */
  setting: string;
  /** Splits one token's allowance further, e.g. per lane. */
  scope?: (req: Request) => string;
}

const WINDOW_MS = 60_000;

/**
 * Counts requests per token (per IP only for a request without one) over a fixed minute and
 * refuses the rest with 429 `rate-limited`. Mounted after the route guard, so requests it
 * counts are authenticated and a flood of bad tokens cannot use up a till's allowance.
 */
export function perMinuteLimit(opts: PerMinuteLimit): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: opts.perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => {
      const who = req.principal ? `token:${req.principal.id}` : `ip:${ipKeyGenerator(req.ip ?? '')}`;
      return opts.scope ? `${who}|${opts.scope(req)}` : who;
    },
    handler: (req, _res, next) => {
      const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const waitS = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : WINDOW_MS / 1000;
      next(
        new HttpError(
          429,
          `Too many ${opts.what}: at most ${opts.perMinute} a minute per token (setting ${opts.setting}). Try again in ${waitS} s.`,
          'rate-limited',
        ),
      );
    },
  });
}
