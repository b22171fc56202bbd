/**
 * The one REST call the till makes: recording the customer's answer to a consent request.
 * It uses the till token the page already connects with; the service checks that the token
 * may speak for the lane.
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
  const url = `/api/lanes/${encodeURIComponent(target.lane)}/consents/${encodeURIComponent(target.requestId)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
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
