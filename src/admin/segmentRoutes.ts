import { Router, type RequestHandler } from 'express';
import { csvField, type SegmentExportRow } from '../ledger/index.js';
import type { SegmentService } from '../services/segmentService.js';
import { drained } from './auditRoutes.js';
import { actorOf } from './authentication.js';
import { memberExportQuery, tagInput } from './requestSchemas.js';
import type { RouteKey } from './routeRoles.js';

export interface SegmentRoutesDeps {
  allow: (route: RouteKey) => RequestHandler;
  segments: SegmentService;
  json: RequestHandler;
}

/** Column order is what the owner's spreadsheets import; append columns, never reorder them. No phone numbers. */
const MEMBERS_CSV_HEADER = 'id,name,lifecycle,rfm,tags,lastPurchaseAt,purchases365,netSpend365Yuan\r\n';
/** Rows read per query; small enough that a page never holds the database for long. */
const PAGE_ROWS = 500;

/**
 * Members' segments for the owner: tags an admin sets by hand, and the member list as CSV for
 * a spreadsheet, filtered like GET /api/members. Lifecycle and RFM segment are computed, not set.
 */
export function segmentRoutes(deps: SegmentRoutesDeps): Router {
  const { allow, segments } = deps;
  const router = Router();

  router.post('/api/members/:id/tags', allow('POST /api/members/:id/tags'), deps.json, (req, res) => {
    const { tag } = tagInput.parse(req.body);
    const memberId = req.params.id as string;
    const { added, tags } = segments.addTag(memberId, tag);
    res.status(added ? 201 : 200).json({ memberId, tags });
  });

  router.delete('/api/members/:id/tags/:tag', allow('DELETE /api/members/:id/tags/:tag'), (req, res) => {
    const { tag } = tagInput.parse({ tag: req.params.tag });
    segments.removeTag(req.params.id as string, tag);
    res.status(204).end();
  });

  router.get('/api/segments', allow('GET /api/segments'), (_req, res) => {
    res.json(segments.counts());
  });

  router.get('/api/members.csv', allow('GET /api/members.csv'), async (req, res) => {
    const filter = memberExportQuery.parse(req.query);
    const at = segments.recordExport(actorOf(req), filter);
    res.status(200);
    res.type('text/csv; charset=utf-8');
    res.attachment(`memberlens-members-${new Date(at).toISOString().slice(0, 10)}.csv`);
    res.set('cache-control', 'no-store');
    try {
      // The BOM makes Excel on a Chinese Windows read UTF-8 instead of GBK.
      res.write(`\uFEFF${MEMBERS_CSV_HEADER}`);
      for (let after = ''; ; ) {
        const page = segments.exportPage(filter, after, PAGE_ROWS);
        if (page.length === 0) break;
        after = page.at(-1)!.id;
        if (!res.write(page.map(memberCsvRow).join(''))) await drained(res);
        if (res.destroyed) return; // the client went away
      }
      res.end();
    } catch (err) {
      // Headers are gone; a cut-off body is the only way left to say the file is incomplete.
      res.destroy(err as Error);
    }
  });

  return router;
}

/** One member as a CSV line; tags joined by ";", money in yuan with two decimals. */
function memberCsvRow(row: SegmentExportRow): string {
  const fields = [
    row.id,
    row.name,
    row.lifecycle ?? '',
    row.rfm ?? '',
    row.tags.join(';'),
    row.lastPurchaseAtMs === null ? '' : new Date(row.lastPurchaseAtMs).toISOString(),
    row.purchases365 === null ? '' : String(row.purchases365),
    row.netSpend365Fen === null ? '' : (row.netSpend365Fen / 100).toFixed(2),
  ];
  return `${fields.map(csvField).join(',')}\r\n`;
}
