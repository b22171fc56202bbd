import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { HqSettings } from '../config/settingsSchema.js';
import { childLogger, type Logger } from '../core/logger.js';
import { createHqApp } from './hqApp.js';
import { openHqDatabase } from './hqDatabase.js';
import { HqLedger } from './hqLedger.js';

/** Compiled pages live in dist/web whether this module runs from src/ (tsx) or dist/. */
const WEB_DIR = fileURLToPath(new URL('../../dist/web', import.meta.url));

export interface RunningHq {
  url: string;
  stop(): Promise<void>;
}

/** `memberlens hq serve`: the database (schema brought up to date), then the HTTP API. */
export async function startHq(settings: HqSettings, root: Logger): Promise<RunningHq> {
  const log = childLogger(root, 'hq');
  const pool = await openHqDatabase(settings.databaseUrl, settings.poolSize);
  const app = createHqApp({ ledger: new HqLedger(pool), log, maxBatchBytes: settings.maxBatchBytes, timeZone: settings.timeZone, webDir: WEB_DIR });
  const server: Server = createServer(app);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port, settings.host, () => resolve());
    });
  } catch (err) {
    await pool.end();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host}:${port}`;
  log.info({ url }, 'memberlens hq is running');
  return {
    url,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

/** For the `hq stores` and `hq owners` commands: the ledger on a pool closed after `run`. */
export async function withHqLedger<T>(settings: HqSettings, run: (ledger: HqLedger) => Promise<T>): Promise<T> {
  const pool = await openHqDatabase(settings.databaseUrl, 1);
  try {
    return await run(new HqLedger(pool));
  } finally {
    await pool.end();
  }
}
