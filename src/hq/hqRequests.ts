import { z } from 'zod';

const id = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
const int = z.number().int().safe();
const text = z.string().max(512).nullable();

/** Bodies of the events a store sends, by kind: each checked before anything is written. */
const entryBody = z
  .object({
    kind: z.string().min(1).max(32),
    spendFen: int,
    points: int,
    storedFen: int,
    orderId: text,
    refId: text,
    lot: text,
    atMs: int.nonnegative(),
    recordedAtMs: int.nonnegative(),
  })
  .strict();
const memberBody = z
  .object({ name: z.string().min(1).max(100), phone: z.string().max(20).nullable(), createdAtMs: int, updatedAtMs: int, marketingOptOut: z.union([z.literal(0), z.literal(1)]).optional() })
  .strict();
const payerBody = z.object({ payerKey: z.string().regex(/^[0-9a-f]{64}$/), channel: z.string().min(1).max(32), createdAtMs: int }).strict();
const consentBody = z
  .object({ consentId: id, kind: z.string().min(1).max(32), method: z.string().min(1).max(32), grantedAtMs: int, withdrawnAtMs: int.nullable() })
  .strict();

const event = z.discriminatedUnion('kind', [
  z.object({ seq: int.positive(), gid: id, kind: z.literal('entry'), memberId: id, body: entryBody }).strict(),
  z.object({ seq: int.positive(), gid: id, kind: z.literal('member'), memberId: id, body: memberBody }).strict(),
  z.object({ seq: int.positive(), gid: id, kind: z.literal('member-erase'), memberId: id, body: z.object({}).strict() }).strict(),
  z.object({ seq: int.positive(), gid: id, kind: z.literal('payer'), memberId: id, body: payerBody }).strict(),
  z.object({ seq: int.positive(), gid: id, kind: z.literal('consent'), memberId: id, body: consentBody }).strict(),
  // A face sealed with the chain face key, which HQ never holds: HQ keeps and forwards ciphertext.
  z.object({ seq: int.positive(), gid: id, kind: z.literal('face'), memberId: id, body: z.object({ faceId: id, sealed: z.string().max(4096).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64') }).strict() }).strict(),
]);

export const batchInput = z
  .object({
    events: z.array(event).max(5000),
    /** What the store still has to send, this batch included: shown on the stores page. */
    backlog: int.nonnegative(),
  })
  .strict();

export const feedQuery = z
  .object({
    after: z.string().regex(/^\d{1,20}:\d{1,16}$/, 'the cursor the last feed page gave as next').default('0:0'),
    limit: z.coerce.number().int().min(1).max(5000).default(500),
    /** The version of the chain's campaign rules the store applied last; newer ones come with the page. */
    rulesVersion: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  })
  .strict();

export const spendInput = z
  .object({
    orderId: id,
    memberId: id,
    amountFen: int.positive(),
    atMs: int.nonnegative(),
  })
  .strict();

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');
/** Without from and to: the last 7 days up to today, in HQ's time zone. */
export const overviewQuery = z
  .object({ from: day.optional(), to: day.optional() })
  .strict()
  .refine((q) => (q.from === undefined) === (q.to === undefined), { message: 'give both from and to, or neither (the last 7 days)', path: ['to'] })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to (to is exclusive)', path: ['to'] });
