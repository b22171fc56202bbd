import type { Command } from 'commander';
import type { Settings } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import { cleanFreeText } from '../core/freeText.js';
import type { Logger } from '../core/logger.js';
import { startHq, withHqLedger } from '../hq/hqService.js';
import { jsonLine } from './cliOutput.js';

type WithContext = (program: Command, run: (settings: Settings, log: Logger) => Promise<void>) => Promise<void>;

const STORE_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/**
 * `memberlens hq …`: the chain's HQ service on PostgreSQL (hq.databaseUrl) and the stores'
 * tokens. Every HQ process is stateless apart from the database, so several can run behind
 * one load balancer.
 */
export function registerHqCommand(program: Command, withContext: WithContext): void {
  const hq = program.command('hq').description("the chain's HQ service on PostgreSQL (连锁): stores sync with it, it authorizes stored-value spends");

  hq.command('serve')
    .description('run the HQ service (hq.databaseUrl, hq.host, hq.port) until SIGINT or SIGTERM')
    .action(async () => {
      await withContext(program, async (settings, log) => {
        const running = await startHq(settings.hq, log);
        process.stdout.write(`memberlens hq is running at ${running.url}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => void running.stop().then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      });
    });

  const stores = hq.command('stores').description('the branches of the chain and their tokens');
  stores
    .command('add')
    .argument('<storeId>', 'the branch id, 1–32 lowercase letters, digits or dashes (the store sets it as chain.storeId)')
    .description('add a branch; prints {"storeId","token"} once (only the token\'s hash is kept)')
    .action(async (storeId: string) => {
      await withContext(program, async (settings) => {
        jsonLine(await withHqLedger(settings.hq, (ledger) => ledger.addStore(checkStoreId(storeId))));
      });
    });
  stores
    .command('rotate')
    .argument('<storeId>')
    .description('give the branch a new token; the old one stops working at once')
    .action(async (storeId: string) => {
      await withContext(program, async (settings) => {
        jsonLine(await withHqLedger(settings.hq, (ledger) => ledger.rotateStore(checkStoreId(storeId))));
      });
    });
  stores
    .command('revoke')
    .argument('<storeId>')
    .description("revoke the branch's token: HQ refuses its syncs and spends until it is rotated")
    .action(async (storeId: string) => {
      await withContext(program, async (settings) => {
        await withHqLedger(settings.hq, (ledger) => ledger.revokeStore(checkStoreId(storeId)));
        jsonLine({ revoked: storeId });
      });
    });
  stores
    .command('list')
    .description('branches as JSON lines: last sync, sequence number, backlog')
    .action(async () => {
      await withContext(program, async (settings) => {
        for (const s of await withHqLedger(settings.hq, (ledger) => ledger.stores())) jsonLine(s);
      });
    });

  hq.command('owners')
    .command('add')
    .argument('<label>', 'who the token is for')
    .description("a token for the owner's pages (/api/hq/*); printed once")
    .action(async (label: string) => {
      await withContext(program, async (settings) => {
        jsonLine(await withHqLedger(settings.hq, (ledger) => ledger.addOwnerToken(cleanFreeText(label, 'LABEL'))));
      });
    });
}

function checkStoreId(storeId: string): string {
  if (!STORE_ID.test(storeId)) throw new UserError(`"${storeId}" is not a store id: use 1–32 lowercase letters, digits or dashes.`, 'invalid-store-id');
  return storeId;
}
