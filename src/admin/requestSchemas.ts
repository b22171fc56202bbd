import { z } from 'zod';
import { freeTextProblem } from '../core/freeText.js';
import { campaignRulesSchema, couponTermsSchema } from '../config/settingsSchema.js';
import { PAYMENT_CHANNELS } from '../ledger/index.js';
import { LIFECYCLES, RFM_SEGMENTS } from '../operations/segments.js';

/**
 * Free text a person typed (a name, a staff name, a label, a lane id): no control or
 * bidi-control characters — refused with a 400 that names the field — then trimmed and
 * NFC-normalized before the length check, so what is stored is what the till shows.
 */
export function freeText({ max, min = 1 }: { max: number; min?: number }) {
  return z
    .string()
    .superRefine((text, ctx) => {
      const problem = freeTextProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .trim()
    .normalize('NFC')
    .min(min)
    .max(max);
}

// Members and faces (adminApp).

export const memberInput = z.strictObject({
  name: freeText({ max: 100 }),
  phone: freeText({ min: 0, max: 20 }).optional().nullable(),
});

// Segments and tags (adminApp's member list, segmentRoutes).

/** A tag an admin puts on a member by hand, e.g. "VIP" or "老客户". */
const tag = freeText({ max: 32 });
export const tagInput = z.strictObject({ tag });
/** An empty parameter (`?lifecycle=&rfm=&tag=` from a form left blank) is no filter; an unknown name is a 400. */
const blankIsAbsent = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
const segmentFilter = {
  lifecycle: blankIsAbsent(z.enum(LIFECYCLES)),
  rfm: blankIsAbsent(z.enum(RFM_SEGMENTS)),
  tag: blankIsAbsent(tag),
};
export const memberExportQuery = z.strictObject(segmentFilter);

export const listQuery = z.object({
  query: freeText({ min: 0, max: 100 }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
  ...segmentFilter,
});

export const consentFields = z.object({
  consentMethod: z.enum(['written', 'verbal-at-till', 'app', 'signage']).optional(),
  staff: freeText({ max: 100 }).optional(),
  lane: freeText({ max: 50 }).optional(),
});

export const fromLaneInput = consentFields.extend({ fromLane: freeText({ max: 50 }) }).strict();

/** POST /api/members/:id/chain-consent: how the member agreed to face recognition at every branch. */
export const chainConsentInput = z
  .object({
    method: z.enum(['written', 'verbal-at-till', 'app', 'signage']),
    staff: freeText({ max: 100 }),
    lane: freeText({ max: 50 }).optional(),
  })
  .strict();

// Checkout: scans, payments, refunds, recharges, deductions, consent answers, reviews (checkoutRoutes).

/** Amounts arrive as yuan, a number or a decimal string; the ledger checks the 2-decimal rule. */
const yuan = z.union([z.number().positive().max(1e9), z.string().regex(/^\d{1,9}(\.\d{1,2})?$/, 'an amount in yuan, e.g. "12.50"')]);
export const ledgerId = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const channel = z.enum(PAYMENT_CHANNELS);

// A scanned code is not shown or stored, only classified; anything unreadable is "rejected".
export const scanInput = z.strictObject({ code: z.string().max(4096) });
const paidPayment = z.strictObject({
  orderId: ledgerId,
  lane: freeText({ max: 32 }),
  channel,
  appId: freeText({ max: 64 }),
  payerId: freeText({ max: 128 }),
  amount: yuan,
  paidAt: z.iso.datetime({ offset: true }),
  /** A coupon of the payer's (GET /api/members/:id/coupons, or the till's prompt); `amount` is then the order before it. */
  couponId: ledgerId.optional(),
});
/** A cash sale has no payer to name: the lane tells whether a member pays (member QR, a named face). */
const cashSale = z.strictObject({
  orderId: ledgerId,
  lane: freeText({ max: 32 }),
  channel: z.literal('cash'),
  amount: yuan,
  paidAt: z.iso.datetime({ offset: true }),
});
export const paymentInput = z.discriminatedUnion('channel', [paidPayment, cashSale], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `channel must be one of ${[...PAYMENT_CHANNELS, 'cash'].join(', ')}; a cash sale has no appId or payerId`
      : undefined,
});
export const refundInput = z.strictObject({ refundId: ledgerId, amount: yuan });
export const rechargeInput = z.strictObject({ rechargeId: ledgerId, amount: yuan });
export const deductionInput = z.strictObject({
  orderId: ledgerId,
  amount: yuan,
  confirmation: z.strictObject({ method: z.enum(['till-confirm', 'pin']), staff: freeText({ max: 100 }) }),
});
export const consentAnswer = z.strictObject({ answer: z.enum(['granted', 'declined']), staff: freeText({ max: 100 }) });

/** `GET /api/reviews?limit=&before=`: newest first; `before` is the `nextBefore` of the previous page. */
export const reviewsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(1).optional(),
});

// Analytics (analyticsRoutes).

const localDate = (field: string) =>
  z
    .string({ error: `${field} is required: a store-local date YYYY-MM-DD` })
    .regex(/^\d{4}-\d{2}-\d{2}$/, `${field} must be a date YYYY-MM-DD, e.g. 2026-11-01`)
    .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), `${field} is not a date of the calendar`);

/** `?from=YYYY-MM-DD&to=YYYY-MM-DD`: store-local dates, `to` exclusive, at most `maxDays` apart. */
export function analyticsPeriodQuery(maxDays: number) {
  return z
    .object({ from: localDate('from'), to: localDate('to') })
    .strict()
    .superRefine(({ from, to }, ctx) => {
      const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
      if (!(days >= 1)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must be after from (to is exclusive: from=2026-11-01&to=2026-11-02 is one day)' });
      else if (days > maxDays) ctx.addIssue({ code: 'custom', path: ['to'], message: `the period may span at most ${maxDays} days (analytics.maxPeriodDays); ask for a shorter one` });
    });
}

// Messages to a segment (messageRoutes).

export const messageCampaignInput = z.strictObject({
  campaignId: ledgerId,
  segment: z.strictObject(segmentFilter),
  /** The provider's template code, e.g. an SMS template id. */
  template: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'the provider\'s template code: 1 to 64 letters, digits and . _ : -'),
  /** `{name}` is replaced by the member's name. */
  text: freeText({ max: 500 }),
});
export const campaignMessagesQuery = z.strictObject({
  after: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
// Coupons and campaigns (campaignRoutes).

export const couponBatchInput = z.strictObject({
  batchId: ledgerId,
  segment: z.strictObject(segmentFilter),
  coupon: couponTermsSchema,
});
export const campaignRulesInput = campaignRulesSchema;
/** Month and day only ("03-14"); 02-29 is allowed, and greeted on 02-28 in other years. */
const monthDay = z
  .string()
  .regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'a month and day as MM-DD, e.g. "03-14"')
  .refine((md) => !Number.isNaN(Date.parse(`2000-${md}T00:00:00Z`)) && new Date(`2000-${md}T00:00:00Z`).toISOString().slice(5, 10) === md, 'a day that exists in that month');
export const marketingInput = z
  .strictObject({
    marketingOptOut: z.boolean().optional(),
    /** Stored only when the member agreed: `agreed` must be true; null forgets it. */
    birthday: z.strictObject({ monthDay, agreed: z.literal(true, 'the member must agree before their birthday is stored (agreed: true)') }).nullable().optional(),
  })
  .refine((b) => b.marketingOptOut !== undefined || b.birthday !== undefined, 'give marketingOptOut, birthday, or both');
export const applyCouponInput = z.strictObject({ couponId: ledgerId });
