import type { RequestHandler } from 'express';

export interface LoadShedding {
  /** How far behind the event loop runs now, in ms (EventLoopLag). */
  lagMs: () => number;
  /** Above this lag, sheddable requests are refused at once; 0 never refuses. */
  maxLagMs: number;
  /** Counted for /metrics; nothing is logged per request, which would add to the overload. */
  onShed?: (what: string) => void;
}

const RETRY_AFTER_S = 1;

/** True while requests that can wait are being refused. */
export function isShedding(load: LoadShedding): boolean {
  return load.maxLagMs > 0 && load.lagMs() > load.maxLagMs;
}

/**
 * Refuses a request with 503 and Retry-After while the main thread is behind, before its body
 * is read. When the loop is behind, every request queued after this one waits longer still;
 * answering "retry in a second" at once beats an answer after the caller has given up, and
 * lets /healthz, till acknowledgements and the requests already admitted finish. Mounted
 * after the route guard, so the refusal is only ever seen by a caller with a valid token.
 *
 * Only on requests a caller can repeat without harm: pushed frames (the next one supersedes
 * it anyway), photo uploads, and ledger writes, which are idempotent by orderId / refundId /
 * rechargeId, so the POS resends the same request.
 */
export function shedWhenBusy(load: LoadShedding, what: string): RequestHandler {
  return (_req, res, next) => {
    if (!isShedding(load)) {
      next();
      return;
    }
    load.onShed?.(what);
    res
      .status(503)
      .set('Retry-After', String(RETRY_AFTER_S))
      .set('Connection', 'close')
      .json({
        error: {
          code: 'overloaded',
          message: `The till PC is too busy to take ${what} now (${Math.round(load.lagMs())} ms behind); send the same request again in ${RETRY_AFTER_S} s.`,
        },
      });
  };
}
