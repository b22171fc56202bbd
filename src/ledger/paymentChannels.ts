/**
 * The payment channels the service knows: the ledger keys payers by them, the scan classifier
 * names them, the admin API accepts them and the till shows them. No imports, so that the till
 * page's build and every room may use it.
 */
export const PAYMENT_CHANNELS = ['wechat', 'alipay', 'unionpay', 'ecny'] as const;
export type PaymentChannel = (typeof PAYMENT_CHANNELS)[number];
