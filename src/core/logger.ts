import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Keys whose values must never reach a log line: biometric data, payment identities and
 * phone numbers (privacy rules in PRODUCT.md). Redaction is by key so that a careless
 * `log.info({ member })` cannot leak them either.
 */
const SECRET_KEYS = [
  'descriptor', 'descriptors', 'embedding', 'embeddings',
  'phone', 'payerId', 'authCode', 'code', 'token', 'password', 'faceKey',
];
const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), ...SECRET_KEYS.map((k) => `*.*.${k}`)];

/**
 * One root logger per process, written to stderr so that stdout stays free for the CLI's
 * JSON lines. Children carry a `ns` field naming the room of the house they log from.
 */
export function createLogger(level: string = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export function childLogger(root: Logger, ns: string): Logger {
  return root.child({ ns });
}
