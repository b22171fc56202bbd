import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A message the receiver accepted: its JSON body and the headers it came with. */
export interface ReceivedMessage {
  body: any;
  raw: string;
  headers: IncomingMessage['headers'];
}

export interface MessageReceiver {
  url: string;
  /** Accepted messages, each message id once. */
  readonly accepted: ReceivedMessage[];
  /** Every request and what it was answered, in order. */
  readonly requests: Array<{ messageId: string | undefined; status: number }>;
  /** Answer the next well-signed requests with these statuses, in order, instead of accepting them. */
  answerNext(...statuses: number[]): void;
  close(): Promise<void>;
}

const MAX_SKEW_S = 300;

/**
 * The "local fake" message provider: a real HTTP server on 127.0.0.1 that does what a shop's
 * SMS / WeChat gateway does with memberlens's webhook — checks the HMAC-SHA256 signature over
 * "<timestamp>.<body>" with the shared secret (written here with node:crypto, apart from the
 * service's code), refuses a timestamp more than five minutes off (replay), and accepts each
 * message id once (a repeat is answered 200 and not sent again).
 */
export async function startMessageReceiver(secret: string): Promise<MessageReceiver> {
  const accepted: ReceivedMessage[] = [];
  const requests: MessageReceiver['requests'] = [];
  const seen = new Set<string>();
  const scripted: number[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const messageId = req.headers['x-memberlens-message-id'] as string | undefined;
      const answer = (status: number) => {
        requests.push({ messageId, status });
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 300 }));
      };
      const timestamp = String(req.headers['x-memberlens-timestamp'] ?? '');
      const signature = String(req.headers['x-memberlens-signature'] ?? '');
      const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`;
      const signed = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
      if (req.method !== 'POST' || !signed) return answer(401);
      if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW_S) return answer(401);
      const status = scripted.shift();
      if (status !== undefined) return answer(status);
      if (messageId && !seen.has(messageId)) {
        seen.add(messageId);
        accepted.push({ body: JSON.parse(raw), raw, headers: req.headers });
      }
      answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sms/send`,
    accepted,
    requests,
    answerNext(...statuses) {
      scripted.push(...statuses);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
