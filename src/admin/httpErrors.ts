import type { ErrorRequestHandler } from 'express';
import { MulterError } from 'multer';
import { ZodError } from 'zod';
import { UserError } from '../core/errors.js';
import { escapeControls } from '../core/freeText.js';
import type { Logger } from '../core/logger.js';

/** An error with the HTTP status it maps to; thrown by routes, turned into JSON by `errorHandler`. */
export class HttpError extends UserError {
  constructor(
    readonly status: number,
    message: string,
    code: string,
  ) {
    super(message, code);
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  'member-not-found': 404,
  MEMBER_NOT_FOUND: 404,
  'face-not-found': 404,
  'lane-not-found': 404,
  PHONE_TAKEN: 409,
  CONSENT_REQUIRED: 409,
  'consent-required': 409,
  'no-usable-face': 422,
  'image-too-large': 413,
  overloaded: 503,
  ORDER_CONFLICT: 409,
  REFUND_CONFLICT: 409,
  RECHARGE_CONFLICT: 409,
  ORDER_NOT_FOUND: 404,
  REFUND_EXCEEDS_PAYMENT: 422,
  INSUFFICIENT_BALANCE: 422,
  INSUFFICIENT_POINTS: 422,
  CONFIRMATION_REQUIRED: 422,
  'consent-request-not-found': 404,
  'enrolled-as-other-member': 409,
  'camera-stopped': 503,
  'tag-not-found': 404,
  'too-many-tags': 422,
  'messaging-off': 409,
  'campaign-conflict': 409,
  'campaign-not-found': 404,
  'chain-campaign-rules': 409,
  'chain-offline': 503,
  'chain-spend-unconfirmed': 503,
  CHAIN_FACE_KEY_MISSING: 409,
  CHAIN_NOT_JOINED: 409,
  COUPON_NOT_FOUND: 404,
  COUPON_USED: 409,
  COUPON_EXPIRED: 422,
  COUPON_NOT_YET_VALID: 422,
  COUPON_OTHER_MEMBER: 403,
  COUPON_MIN_SPEND: 422,
  BATCH_CONFLICT: 409,
};

// What busboy (under multer) throws for a multipart body it cannot read: the client's mistake.
const UNREADABLE_FORM = /^(Multipart: Boundary not found|Malformed part header|Malformed content type|Unexpected end of (form|file)|Missing Content-Type|Unsupported content type)/;

/**
 * Every error leaves as `{ error: { code, message } }` with a message a person can act on.
 * Operator mistakes are 4xx and logged at info; anything else is a bug, logged with its
 * stack and answered 500 without internals. A message may quote an id from the URL, so
 * control and bidi-control characters in it are written out as \uXXXX.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, code, message } = describe(err);
    // A UserError at 5xx (overloaded, chain HQ offline) is a condition the caller handles, not a bug.
    if (status >= 500 && !(err instanceof UserError)) log.error({ err, method: req.method, path: req.path }, 'request failed');
    else if (status >= 500) log.warn({ status, code, method: req.method, path: req.path }, 'request refused for now');
    else log.info({ status, code, method: req.method, path: req.path }, 'request refused');
    if (res.headersSent) return;
    res.status(status).json({ error: { code, message: escapeControls(message) } });
  };
}

function describe(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof ZodError) {
    const problems = err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    return { status: 400, code: 'invalid-input', message: `Invalid request: ${problems.join('; ')}` };
  }
  if (err instanceof UserError) return { status: STATUS_BY_CODE[err.code] ?? 400, code: err.code, message: err.message };
  const e = err as { type?: string; status?: number; message?: string };
  // body-parser and multer errors carry a type/status of their own.
  if (e.type === 'entity.parse.failed') {
    return { status: 400, code: 'malformed-json', message: 'The body is not valid JSON; send a JSON object.' };
  }
  if (e.type === 'entity.too.large' || (err as { code?: string }).code === 'LIMIT_FILE_SIZE') {
    return { status: 413, code: 'body-too-large', message: 'The body is larger than this endpoint accepts.' };
  }
  if (err instanceof MulterError) {
    return { status: 400, code: 'invalid-upload', message: `The upload was refused (${err.message}); send at most 5 "photo" files and the consent fields.` };
  }
  if (err instanceof Error && UNREADABLE_FORM.test(err.message)) {
    return { status: 400, code: 'invalid-upload', message: 'The multipart form could not be read; send multipart/form-data with a boundary and "photo" files, or the image itself as the body.' };
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return { status: e.status, code: 'bad-request', message: e.message ?? 'Bad request.' };
  }
  return { status: 500, code: 'internal', message: 'Internal error; the service logged the details.' };
}
