import { createHash } from 'node:crypto';
import type { PaymentChannel } from '../ledger/paymentChannels.js';

export interface PayerRef {
  appId: string;
  payerId: string;
}

/**
 * Asks the payment provider who owns a scanned auth code before charging (WeChat Pay's
 * authcodetoopenid and the like), so a returning payer's tier discount applies to this
 * order. The auth code is a one-time bearer token: implementations use it for this one
 * call and never keep it.
 */
export interface PaymentProvider {
  readonly name: string;
  payerOfAuthCode(channel: PaymentChannel, authCode: string): Promise<PayerRef | undefined>;
}

/** No provider configured: no pre-payment lookup; the member is found when the payment arrives. */
export class NoPaymentProvider implements PaymentProvider {
  readonly name = 'none';
  async payerOfAuthCode(): Promise<undefined> {
    return undefined;
  }
}

/**
 * A local stand-in for tests and the demo: a customer's auth codes change every time, but this
 * fake treats the last 6 digits as the customer, so a script can play the same payer twice.
 * The payer id it returns is what the POS must send as payerId with the payment.
 */
export class LocalFakePaymentProvider implements PaymentProvider {
  readonly name = 'local-fake';
  constructor(private readonly appId = 'fake-app') {}

  async payerOfAuthCode(channel: PaymentChannel, authCode: string): Promise<PayerRef> {
    return { appId: this.appId, payerId: fakePayerId(channel, authCode) };
  }
}

export function fakePayerId(channel: PaymentChannel, authCode: string): string {
  return `fake-${channel}-${createHash('sha256').update(authCode.slice(-6)).digest('hex').slice(0, 16)}`;
}
