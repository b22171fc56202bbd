import { Router, type RequestHandler } from 'express';
import type { CampaignService } from '../services/campaignService.js';
import type { CouponService } from '../services/couponService.js';
import type { MemberService } from '../services/memberService.js';
import { actorOf } from './authentication.js';
import { HttpError } from './httpErrors.js';
import { campaignRulesInput, couponBatchInput, marketingInput } from './requestSchemas.js';
import type { RouteKey } from './routeRoles.js';

export interface CampaignRoutesDeps {
  allow: (route: RouteKey) => RequestHandler;
  json: RequestHandler;
  coupons: CouponService;
  campaigns: CampaignService;
  members: Pick<MemberService, 'setMarketingPreferences'>;
}

/**
 * Coupons and campaigns for the owner: coupon batches to a segment, a member's coupons, the
 * campaign rules, and a member's marketing choices (opt-out, birthday with agreement).
 */
export function campaignRoutes(deps: CampaignRoutesDeps): Router {
  const { allow, json, coupons, campaigns } = deps;
  const router = Router();

  router.post('/api/coupons/batches', allow('POST /api/coupons/batches'), json, (req, res) => {
    const input = couponBatchInput.parse(req.body);
    const result = coupons.issueBatch({ batchId: input.batchId, segment: input.segment, coupon: input.coupon, actor: actorOf(req) });
    res.status(result.duplicate ? 200 : 201).json(result);
  });

  router.get('/api/members/:id/coupons', allow('GET /api/members/:id/coupons'), (req, res) => {
    const memberId = req.params.id as string;
    const list = coupons.couponsOf(memberId);
    if (!list) throw new HttpError(404, `No member ${memberId}.`, 'member-not-found');
    res.json({ memberId, coupons: list });
  });

  router.get('/api/campaigns/rules', allow('GET /api/campaigns/rules'), (_req, res) => {
    res.json(campaigns.rulesView());
  });

  router.put('/api/campaigns/rules', allow('PUT /api/campaigns/rules'), json, (req, res) => {
    const rules = campaignRulesInput.parse(req.body);
    res.json(campaigns.saveRules(rules, actorOf(req)));
  });

  router.patch('/api/members/:id', allow('PATCH /api/members/:id'), json, (req, res) => {
    const input = marketingInput.parse(req.body);
    const memberId = req.params.id as string;
    const preferences = deps.members.setMarketingPreferences(
      memberId,
      {
        ...(input.marketingOptOut === undefined ? {} : { marketingOptOut: input.marketingOptOut }),
        ...(input.birthday === undefined ? {} : { birthday: input.birthday && { monthDay: input.birthday.monthDay } }),
      },
      actorOf(req),
    );
    res.json({ memberId, marketing: marketingView(preferences) });
  });

  return router;
}

/** Marketing choices as the admin sees them; the birthday is admin-only data, never on the till. */
export function marketingView(p: { marketingOptOut: boolean; birthday: { monthDay: string; agreedAtMs: number } | null }) {
  return {
    marketingOptOut: p.marketingOptOut,
    birthday: p.birthday && { monthDay: p.birthday.monthDay, agreedAt: new Date(p.birthday.agreedAtMs).toISOString() },
  };
}
