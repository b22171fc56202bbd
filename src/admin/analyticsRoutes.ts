import { Router, type RequestHandler } from 'express';
import type { AnalyticsService } from '../services/analyticsService.js';
import { analyticsPeriodQuery } from './requestSchemas.js';
import type { RouteKey } from './routeRoles.js';

export interface AnalyticsRoutesDeps {
  allow: (route: RouteKey) => RequestHandler;
  analytics: AnalyticsService;
  /** analytics.maxPeriodDays */
  maxPeriodDays: number;
}

/** The owner's dashboard over HTTP: each route takes `from` and `to` (store-local dates, `to` exclusive). */
export function analyticsRoutes(deps: AnalyticsRoutesDeps): Router {
  const { allow, analytics } = deps;
  const period = analyticsPeriodQuery(deps.maxPeriodDays);
  const router = Router();

  router.get('/api/analytics/overview', allow('GET /api/analytics/overview'), (req, res) => {
    res.json(analytics.overview(period.parse(req.query)));
  });

  router.get('/api/analytics/series', allow('GET /api/analytics/series'), (req, res) => {
    res.json(analytics.series(period.parse(req.query)));
  });

  router.get('/api/analytics/details', allow('GET /api/analytics/details'), (req, res) => {
    res.json(analytics.details(period.parse(req.query)));
  });

  return router;
}
