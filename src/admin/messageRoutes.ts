import { Router, type RequestHandler } from 'express';
import type { MessageService } from '../services/messageService.js';
import { actorOf } from './authentication.js';
import { HttpError } from './httpErrors.js';
import { campaignMessagesQuery, messageCampaignInput } from './requestSchemas.js';
import type { RouteKey } from './routeRoles.js';

export interface MessageRoutesDeps {
  allow: (route: RouteKey) => RequestHandler;
  messages: MessageService;
  json: RequestHandler;
}

/**
 * Messages to a segment through the shop's own provider: queue a campaign (answered at once;
 * delivery follows in the background) and follow its delivery. Never shows a phone number.
 */
export function messageRoutes(deps: MessageRoutesDeps): Router {
  const { allow, messages } = deps;
  const router = Router();

  router.post('/api/messages/campaigns', allow('POST /api/messages/campaigns'), deps.json, (req, res) => {
    const input = messageCampaignInput.parse(req.body);
    const result = messages.sendToSegment({ ...input, actor: actorOf(req) });
    res.status(result.duplicate ? 200 : 202).json(result);
  });

  router.get('/api/messages/campaigns/:id', allow('GET /api/messages/campaigns/:id'), (req, res) => {
    const campaignId = req.params.id as string;
    const { after, limit } = campaignMessagesQuery.parse(req.query);
    const campaign = messages.campaign(campaignId);
    if (!campaign) throw new HttpError(404, `No campaign ${campaignId}.`, 'campaign-not-found');
    const page = messages.messagesOf(campaignId, after ?? '', limit);
    res.json({
      ...campaign,
      messages: page.map((m) => ({
        memberId: m.memberId,
        template: m.template,
        status: m.status,
        attempts: m.attempts,
        lastError: m.lastError,
        queuedAt: iso(m.queuedAtMs),
        sentAt: iso(m.sentAtMs),
        nextAttemptAt: iso(m.nextAttemptAtMs),
      })),
      nextAfter: page.length === limit ? page.at(-1)!.memberId : null,
    });
  });

  return router;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
