import { Router, type RequestHandler } from 'express';
import type { OperatingPointView } from '../services/recognitionHealth.js';
import type { RouteKey } from './routeRoles.js';

export interface RecognitionRoutesDeps {
  allow: (route: RouteKey) => RequestHandler;
  /** The operating point for the gallery as it is now, with the member visits counted since the start. */
  recognition: () => OperatingPointView;
}

/**
 * How recognition is set up for the admin: the match threshold per face size that the
 * false-naming budget and the member count give, and how many members' visits stay unknown.
 * No descriptor and no member is named here.
 */
export function recognitionRoutes(deps: RecognitionRoutesDeps): Router {
  const router = Router();
  router.get('/api/recognition/operating-point', deps.allow('GET /api/recognition/operating-point'), (_req, res) => {
    res.set('cache-control', 'no-store');
    res.json(deps.recognition());
  });
  return router;
}
