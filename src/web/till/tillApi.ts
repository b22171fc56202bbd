/**
 * The REST calls the till makes: recording the customer's answer to a consent request, and
 * applying a coupon prompt to the member's order with one tap. They use the till token the
 * page already connects with; the service checks that the token may speak for the lane.
 */

export type ConsentAnswer = 'granted' | 'declined';

/** A refusal from the service; `message` is its own sentence and is shown to the cashier as is. */
export class TillApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request never got an answer: the service is down or the network is. */
export class TillNetworkError extends Error {}

export async function answerConsent(
  target: { lane: string; token: string; requestId: string },
  body: { answer: ConsentAnswer; staff: string },
): Promise<void> {
  await post(`/api/lanes/${encodeURIComponent(target.lane)}/consents/${encodeURIComponent(target.requestId)}`, target.token, body);
}

/** Holds the coupon for the member's next payment at this lane (POST /api/lanes/:lane/coupons). */
export async function applyCoupon(target: { lane: string; token: string }, couponId: string): Promise<void> {
  await post(`/api/lanes/${encodeURIComponent(target.lane)}/coupons`, target.token, { couponId });
}

async function post(url: string, token: string, body: unknown): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new TillNetworkError(err instanceof Error ? err.message : String(err));
  }
  if (response.ok) return;
  const answer = (await response.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
  const error = answer?.error;
  throw new TillApiError(
    response.status,
    typeof error?.code === 'string' ? error.code : '',
    typeof error?.message === 'string' ? error.message : '',
  );
}
