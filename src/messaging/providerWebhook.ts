import { createHmac } from 'node:crypto';

/** What the shop's provider receives for one message: the one place a member's phone leaves the ledger. */
export interface ProviderMessage {
  messageId: string;
  campaignId: string;
  /** The provider's template code (an SMS template id, a WeChat template name). */
  template: string;
  /** The text with the member's name filled in, for providers that send free text. */
  text: string;
  member: { id: string; name: string; phone: string };
}

export type DeliveryOutcome = { kind: 'sent' } | { kind: 'retry'; error: string } | { kind: 'failed'; error: string };

export interface MessageProvider {
  send(message: ProviderMessage, signal?: AbortSignal): Promise<DeliveryOutcome>;
}

export const TIMESTAMP_HEADER = 'x-memberlens-timestamp';
export const SIGNATURE_HEADER = 'x-memberlens-signature';
export const MESSAGE_ID_HEADER = 'x-memberlens-message-id';

/** `sha256=` and the hex HMAC-SHA256 of "<timestamp>.<body>": the timestamp is signed too, so it cannot be swapped. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The shop's own SMS / WeChat provider behind a URL: each message is one POST of JSON, signed
 * with the shop's secret and stamped with the time (seconds since 1970) so the provider can
 * refuse a replayed request; the message id header lets it drop a message it already sent
 * (after a crash between its answer and our record of it). 2xx is sent; a timeout, a network
 * error, 408, 429 and 5xx are tried again; any other 4xx is final (the request itself is wrong).
 */
export class ProviderWebhook implements MessageProvider {
  constructor(private readonly options: { url: string; secret: string; timeoutMs: number; clock?: () => number }) {}

  async send(message: ProviderMessage, signal?: AbortSignal): Promise<DeliveryOutcome> {
    const body = JSON.stringify({ ...message, sentAt: new Date(this.#now()).toISOString() });
    const timestamp = String(Math.floor(this.#now() / 1000));
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const res = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: webhookSignature(this.options.secret, timestamp, body),
          [MESSAGE_ID_HEADER]: message.messageId,
        },
        body,
        redirect: 'error',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      // The answer's body is the provider's; it is neither kept nor logged.
      await res.body?.cancel();
      if (res.ok) return { kind: 'sent' };
      const error = `provider answered HTTP ${res.status}`;
      return res.status === 408 || res.status === 429 || res.status >= 500 ? { kind: 'retry', error } : { kind: 'failed', error };
    } catch (err) {
      const e = err as Error;
      if (timeout.aborted) return { kind: 'retry', error: `no answer within ${this.options.timeoutMs} ms` };
      if (signal?.aborted) return { kind: 'retry', error: 'stopped while sending' };
      const cause = (e.cause as { code?: string } | undefined)?.code;
      return { kind: 'retry', error: `provider unreachable (${cause ?? e.message})` };
    }
  }

  #now(): number {
    return (this.options.clock ?? Date.now)();
  }
}

/** The provider the settings name, or undefined while messaging.providerUrl is empty (messages off). */
export function providerFromSettings(settings: { providerUrl: string; webhookSecret: string; requestTimeoutMs: number }): MessageProvider | undefined {
  if (settings.providerUrl === '') return undefined;
  return new ProviderWebhook({ url: settings.providerUrl, secret: settings.webhookSecret, timeoutMs: settings.requestTimeoutMs });
}
