import path from 'node:path';
import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { ZodError } from 'zod';
import { campaignRulesSchema } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { HqRefusal, SequenceGapError, type HqLedger } from './hqLedger.js';
import { chainOverview } from './chainOverview.js';
import { batchInput, feedQuery, overviewQuery, spendInput } from './hqRequests.js';

declare module 'express-serve-static-core' {
  interface Request {
    storeId?: string;
    /** The label of the owner token the request came with. */
    ownerLabel?: string;
  }
}

export interface HqAppDeps {
  ledger: HqLedger;
  log: Logger;
  maxBatchBytes: number;
  timeZone: string;
  /** Compiled pages (dist/web): the owner's page at /hq/ and the shared styles. */
  webDir: string;
}

/**
 * HQ's HTTP API, an express app that does not listen. Stores call /api/chain/* with their own
 * token (the store is the token's, never a field of the request); the owner calls /api/hq/*
 * with an owner token. HQ keeps nothing in memory between requests: PostgreSQL is its state.
 */
export function createHqApp(deps: HqAppDeps): Express {
  const { ledger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(helmet());
  const json = express.json({ limit: deps.maxBatchBytes, strict: true });

  const store = async (req: Request, _res: Response, next: NextFunction) => {
    const token = bearer(req);
    const storeId = token ? await ledger.storeOfToken(token) : undefined;
    if (!storeId) return next(new HqRefusal(401, 'Send "Authorization: Bearer <store token>" with a token from "memberlens hq stores add"; a revoked token no longer works.', 'unauthenticated'));
    req.storeId = storeId;
    next();
  };
  const owner = async (req: Request, _res: Response, next: NextFunction) => {
    const token = bearer(req);
    const label = token ? await ledger.ownerOfToken(token) : undefined;
    if (label === undefined) {
      return next(new HqRefusal(401, 'Send "Authorization: Bearer <owner token>" with a token from "memberlens hq owners add".', 'unauthenticated'));
    }
    req.ownerLabel = label;
    next();
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // The owner's page; it signs in with an owner token and calls /api/hq/* like any client.
  app.get('/', (_req, res) => res.redirect('/hq/'));
  app.use('/hq', express.static(path.join(deps.webDir, 'hq')));
  app.use('/shared', express.static(path.join(deps.webDir, 'shared')));

  app.get('/api/chain/join', store, async (req, res) => {
    res.json({ storeId: req.storeId, payerKeySecret: (await ledger.payerKeySecret()).toString('hex') });
  });

  app.post('/api/chain/batches', store, json, async (req, res) => {
    const input = batchInput.parse(req.body);
    res.json(await ledger.ingest(req.storeId!, input.events, input.backlog));
  });

  app.get('/api/chain/feed', store, async (req, res) => {
    const { after, limit, rulesVersion } = feedQuery.parse(req.query);
    res.json(await ledger.feed(req.storeId!, after, limit, rulesVersion));
  });

  app.post('/api/chain/spends', store, json, async (req, res) => {
    const input = spendInput.parse(req.body);
    const result = await ledger.authorizeDeduction(req.storeId!, input);
    res.status(result.duplicate ? 200 : 201).json(result);
  });

  app.get('/api/hq/stores', owner, async (_req, res) => {
    res.json({ stores: await ledger.stores() });
  });

  app.get('/api/hq/overview', owner, async (req, res) => {
    const { from, to } = overviewQuery.parse(req.query);
    res.json(await chainOverview(ledger, { from, to, timeZone: deps.timeZone }));
  });

  // The chain's campaign rules: checked by the schema every store checks its own rules with,
  // kept with a version, and taken by every branch with its next feed page.
  app.get('/api/hq/campaign-rules', owner, async (_req, res) => {
    res.json((await ledger.campaignRules()) ?? { version: 0, rules: null, setBy: null, setAt: null });
  });

  app.put('/api/hq/campaign-rules', owner, json, async (req, res) => {
    const rules = campaignRulesSchema.parse(req.body);
    const saved = await ledger.setCampaignRules(rules, `owner:${req.ownerLabel}`);
    deps.log.info({ version: saved.version, setBy: saved.setBy, enabled: Object.entries(rules).filter(([, r]) => r.enabled).map(([name]) => name) }, 'chain campaign rules set');
    res.json(saved);
  });

  app.use((_req, _res, next) => next(new HqRefusal(404, 'No such route on HQ; the README lists them.', 'not-found')));
  app.use(errorHandler(deps.log));
  return app;
}

function bearer(req: Request): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
}

function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let status = 500;
    let body: Record<string, unknown> = { code: 'internal', message: 'HQ failed to answer; the store retries.' };
    if (err instanceof SequenceGapError) {
      status = 409;
      body = { code: err.code, message: err.message, lastSeq: err.lastSeq };
    } else if (err instanceof HqRefusal) {
      status = err.status;
      body = { code: err.code, message: err.message };
    } else if (err instanceof ZodError) {
      status = 400;
      body = { code: 'invalid-input', message: `Invalid request: ${err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}` };
    } else if (err instanceof UserError) {
      status = 400;
      body = { code: err.code, message: err.message };
    } else if ((err as { type?: string }).type === 'entity.parse.failed') {
      status = 400;
      body = { code: 'malformed-json', message: 'The body is not valid JSON; send a JSON object.' };
    } else if ((err as { type?: string }).type === 'entity.too.large') {
      status = 413;
      body = { code: 'body-too-large', message: 'The batch is larger than hq.maxBatchBytes; send fewer events per batch (chain.batchEvents).' };
    }
    if (status >= 500) log.error({ err, method: req.method, path: req.path }, 'HQ request failed');
    else log.info({ status, code: body.code, method: req.method, path: req.path }, 'HQ request refused');
    if (!res.headersSent) res.status(status).json({ error: body });
  };
}
