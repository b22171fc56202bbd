import express, { Router } from 'express';
import type { Checkout } from '../fusion/checkout.js';
import type { MembershipService } from '../services/membershipService.js';
import { issueMemberQr } from '../fusion/memberQrCode.js';
import type { LaneDirectory } from '../lanes/laneDirectory.js';
import { actorOf, routeGuard, type TokenVerifier } from './authentication.js';
import { HttpError } from './httpErrors.js';
import { shedWhenBusy, type LoadShedding } from './loadShedding.js';
import {
  applyCouponInput,
  consentAnswer,
  deductionInput,
  ledgerId as id,
  paymentInput,
  rechargeInput,
  refundInput,
  reviewsQuery,
  scanInput,
} from './requestSchemas.js';

export interface CheckoutRoutesDeps {
  checkout: Checkout;
  membership: MembershipService;
  verifyToken: TokenVerifier;
  hasLane: (lane: string) => boolean;
  /** Through the lane's scanner, which counts it and applies its limits. */
  postScan: LaneDirectory['postScan'];
  memberQrTtlMs: number;
  jsonBodyBytes: number;
  loadShedding: LoadShedding;
}

/**
 * The checkout's HTTP side: lane scanners, the POS / payment gateway, and the till's consent
 * answers. A scan's code is never echoed back, stored or logged.
 */
export function checkoutRoutes(deps: CheckoutRoutesDeps): Router {
  const { checkout, membership, verifyToken } = deps;
  const router = Router();
  const json = express.json({ limit: deps.jsonBodyBytes, strict: true });
  // Roles per route come from ROUTE_ROLES, the table the access-control test walks.
  const allow = routeGuard(verifyToken);
  // Ledger writes are idempotent by their ids, so a refused one is simply sent again.
  const shed = shedWhenBusy(deps.loadShedding, 'ledger writes');
  const lane = (name: string) => {
    if (!deps.hasLane(name)) throw new HttpError(404, `No lane "${name}".`, 'lane-not-found');
    return name;
  };

  router.post('/api/lanes/:lane/scans', allow('POST /api/lanes/:lane/scans'), json, async (req, res) => {
    const l = lane(req.params.lane as string);
    const { code } = scanInput.parse(req.body);
    res.json(await deps.postScan(l, code));
  });

  router.post('/api/payments', allow('POST /api/payments'), shed, json, async (req, res) => {
    const input = paymentInput.parse(req.body);
    lane(input.lane);
    if (input.channel === 'cash') {
      const sale = await checkout.cashSale({ ...input, paidAtMs: Date.parse(input.paidAt), actor: actorOf(req) });
      res.status(sale.duplicate ? 200 : 201).json({
        orderId: input.orderId,
        memberId: sale.memberId,
        created: false,
        duplicate: sale.duplicate,
        discountRateApplied: sale.discountRateApplied,
        pointsEarned: sale.pointsEarned,
        tier: sale.tierAfter,
        identifiedBy: sale.identifiedBy,
      });
      return;
    }
    const result = await checkout.payment({ ...input, paidAtMs: Date.parse(input.paidAt), actor: actorOf(req) });
    res.status(result.duplicate ? 200 : 201).json({
      orderId: input.orderId,
      memberId: result.memberId,
      created: result.created,
      duplicate: result.duplicate,
      discountRateApplied: result.discountRateApplied,
      pointsEarned: result.pointsEarned,
      tier: result.tierAfter,
      coupon: result.coupon,
      face: result.face,
    });
  });

  router.post('/api/payments/:orderId/refunds', allow('POST /api/payments/:orderId/refunds'), shed, json, async (req, res) => {
    const orderId = id.parse(req.params.orderId);
    const input = refundInput.parse(req.body);
    const result = await membership.recordRefund({ orderId, refundId: input.refundId, amountYuan: input.amount, actor: actorOf(req) });
    res.status(result.duplicate ? 200 : 201).json(result);
  });

  router.post('/api/members/:id/recharges', allow('POST /api/members/:id/recharges'), shed, json, async (req, res) => {
    const input = rechargeInput.parse(req.body);
    const result = await membership.recharge({ memberId: req.params.id as string, amountYuan: input.amount, rechargeId: input.rechargeId, actor: actorOf(req) });
    res.status(result.duplicate ? 200 : 201).json(result);
  });

  router.post('/api/members/:id/deductions', allow('POST /api/members/:id/deductions'), shed, json, async (req, res) => {
    const input = deductionInput.parse(req.body);
    const result = await membership.deduct({ memberId: req.params.id as string, amountYuan: input.amount, orderId: input.orderId, confirmation: input.confirmation });
    res.status(result.duplicate ? 200 : 201).json(result);
  });

  router.get('/api/members/:id/qr', allow('GET /api/members/:id/qr'), (req, res) => {
    res.json(checkout.issueMemberQrFor(req.params.id as string, deps.memberQrTtlMs, issueMemberQr));
  });

  // The cashier's one tap on a coupon prompt: the member's next payment at this lane uses it.
  router.post('/api/lanes/:lane/coupons', allow('POST /api/lanes/:lane/coupons'), json, (req, res) => {
    const l = lane(req.params.lane as string);
    const { couponId } = applyCouponInput.parse(req.body);
    res.json(checkout.holdCoupon(l, couponId));
  });

  router.post('/api/lanes/:lane/consents/:requestId', allow('POST /api/lanes/:lane/consents/:requestId'), json, (req, res) => {
    const l = lane(req.params.lane as string);
    const input = consentAnswer.parse(req.body);
    res.json(checkout.answerConsent(l, req.params.requestId as string, input.answer, input.staff, actorOf(req)));
  });

  // Newest first, a page at a time: `nextBefore` is the `before` of the next (older) page, null after the last.
  router.get('/api/reviews', allow('GET /api/reviews'), (req, res) => {
    const q = reviewsQuery.parse(req.query);
    res.json({ ...membership.reviews({ limit: q.limit, before: q.before }), limit: q.limit });
  });

  return router;
}
