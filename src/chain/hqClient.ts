import type { ChainSettings } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import type { ChainFeedEvent, OutboxEvent } from '../ledger/index.js';

/** HQ could not be reached or did not answer in time: the store keeps working alone. */
export class HqUnreachableError extends UserError {
  constructor(cause: unknown) {
    super(
      'The chain HQ cannot be reached from this store right now. Sales, recharges and points go on and are synced later; ' +
        'stored value cannot be spent until HQ answers again, because it could be spent at another branch at the same time. ' +
        'Take this payment another way.',
      'chain-offline',
    );
    this.cause = cause;
  }
}

/** HQ answered with a refusal (its code and message are for the cashier or the operator). */
export class HqRefusedError extends UserError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message, code);
  }
}

/** The store's HTTP client for HQ's /api/chain routes, with the store's own token. */
export class HqClient {
  constructor(private readonly settings: Pick<ChainSettings, 'hqUrl' | 'token' | 'requestTimeoutMs'>) {}

  join(): Promise<{ storeId: string; payerKeySecret: string }> {
    return this.request('GET', '/api/chain/join');
  }

  pushBatch(events: readonly OutboxEvent[], backlog: number): Promise<{ lastSeq: number; accepted: number }> {
    return this.request('POST', '/api/chain/batches', { events, backlog });
  }

  /** `rulesVersion`: the chain campaign rules' version the store holds; newer ones come with the page. */
  feed(after: string, limit: number, rulesVersion: number): Promise<{ events: ChainFeedEvent[]; next: string; campaignRules?: { version: number; rules: unknown; setBy: string } }> {
    return this.request('GET', `/api/chain/feed?after=${encodeURIComponent(after)}&limit=${limit}&rulesVersion=${rulesVersion}`);
  }

  authorizeDeduction(input: { orderId: string; memberId: string; amountFen: number; atMs: number }): Promise<{ gid: string; duplicate: boolean; balanceFen: number }> {
    return this.request('POST', '/api/chain/spends', input);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.settings.hqUrl), {
        method,
        headers: { authorization: `Bearer ${this.settings.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.requestTimeoutMs),
      });
    } catch (err) {
      throw new HqUnreachableError(err);
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = (await res.json()) as Record<string, unknown>;
    } catch (err) {
      throw new HqUnreachableError(err);
    }
    if (res.ok) return parsed as T;
    if (res.status >= 500) throw new HqUnreachableError(new Error(`HQ answered ${res.status}`));
    const error = (parsed.error ?? {}) as Record<string, unknown>;
    throw new HqRefusedError(res.status, String(error.code ?? 'hq-refused'), String(error.message ?? `HQ refused with ${res.status}`), error);
  }
}
