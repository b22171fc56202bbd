import { once } from 'node:events';
import { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AUDIT_CSV_HEADER, auditCsvRow, type MemberStore } from '../ledger/index.js';
import { actorOf } from './authentication.js';
import type { RouteKey } from './routeRoles.js';

export interface AuditRoutesDeps {
  store: MemberStore;
  allow: (route: RouteKey) => RequestHandler;
  /** The processing log is kept this long; the service deletes older entries hourly. */
  auditRetentionDays: number;
  clock?: () => number;
}

const DAY_MS = 86_400_000;
/** Rows read per query; small enough that a page never holds the database for long. */
const PAGE_ROWS = 500;

const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((text) => Date.parse(text));
const exportQuery = z
  .strictObject({ since: instant.optional(), until: instant.optional() })
  .refine((q) => q.since === undefined || q.until === undefined || q.since <= q.until, 'since must not be after until');

/**
 * The processing log for the admin: a CSV export (PIPL Art. 54 audits, GDPR Art. 30 records)
 * and its retention (entries past the cutoff, the last purge). Neither ever shows biometric data;
 * the log refuses to hold it in the first place.
 */
export function auditRoutes(deps: AuditRoutesDeps): Router {
  const { store, allow } = deps;
  const clock = deps.clock ?? Date.now;
  const router = Router();

  // ?since=&until= are ISO times (or dates, as UTC midnight); since inclusive, until exclusive.
  router.get('/api/audit.csv', allow('GET /api/audit.csv'), async (req, res) => {
    const q = exportQuery.parse(req.query);
    const sinceMs = q.since ?? 0;
    const untilMs = q.until ?? Number.MAX_SAFE_INTEGER;
    // Written before any row is read, so an export that breaks off is still on record; rows
    // written after it are left out, and it is itself the last row when the range reaches now.
    const marker = store.audit.record({
      actor: actorOf(req),
      action: 'export',
      details: { format: 'csv', since: q.since === undefined ? null : iso(q.since), until: q.until === undefined ? null : iso(q.until) },
    });
    res.status(200);
    res.type('text/csv; charset=utf-8');
    res.attachment(`memberlens-audit-${iso(marker.atMs).slice(0, 10)}.csv`);
    res.set('cache-control', 'no-store');
    try {
      // The BOM makes Excel on a Chinese Windows read UTF-8 instead of GBK, so staff names stay legible.
      res.write(`\uFEFF${AUDIT_CSV_HEADER}`);
      let afterId = 0;
      for (;;) {
        const page = store.audit.page({ sinceMs, untilMs, afterId, throughId: marker.id, limit: PAGE_ROWS });
        if (page.length === 0) break;
        afterId = page[page.length - 1]!.id;
        if (!res.write(page.map(auditCsvRow).join(''))) await drained(res);
        if (res.destroyed) return; // the client went away
      }
      res.end();
    } catch (err) {
      // Headers are gone; a cut-off body is the only way left to say the file is incomplete.
      res.destroy(err as Error);
    }
  });

  router.get('/api/audit/retention', allow('GET /api/audit/retention'), (_req, res) => {
    const cutoffMs = clock() - deps.auditRetentionDays * DAY_MS;
    const { count, oldestAtMs } = store.audit.countOlderThan(cutoffMs);
    const purge = store.audit.lastPurge();
    res.json({
      retentionDays: deps.auditRetentionDays,
      cutoff: iso(cutoffMs),
      // Normally 0: only entries that expired since the last hourly run.
      expiredEntries: count,
      oldestExpiredAt: oldestAtMs === null ? null : iso(oldestAtMs),
      deletion: 'hourly',
      lastPurge: purge ? { at: iso(purge.atMs), cutoff: iso(purge.cutoffMs), entries: purge.entries } : null,
      note:
        'Entries older than the retention are deleted by the service at start and then hourly; each purge ' +
        'writes an audit.purge entry first. The database refuses to delete any entry younger than three years. ' +
        'Export entries you must keep (GET /api/audit.csv?until=<cutoff>) before they pass the cutoff.',
    });
  });

  return router;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Resolves when the socket wants more, or when it closed and never will. */
export async function drained(res: Response): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([once(res, 'drain', { signal: done.signal }), once(res, 'close', { signal: done.signal })]);
  } finally {
    done.abort(); // removes the listener that did not fire
  }
}
