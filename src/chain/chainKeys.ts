import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import { HqClient, HqUnreachableError } from './hqClient.js';

/** The chain-wide payer-key secret HQ provisions, kept beside the face key with mode 0600. */
const CHAIN_PAYER_KEY_FILE = 'chain-payer.key';

const keyFile = (settings: Settings) => path.resolve(settings.dataDir, CHAIN_PAYER_KEY_FILE);

/**
 * The secret payer identities are keyed with in a chain, so the same WeChat or Alipay payer
 * is the same member at every branch; undefined for a store that runs alone (its secret
 * derives from its face key).
 */
export function chainPayerKeySecret(settings: Settings): Buffer | undefined {
  if (settings.chain.hqUrl === '' || !existsSync(keyFile(settings))) return undefined;
  return Buffer.from(readFileSync(keyFile(settings), 'utf8').trim(), 'hex');
}

/**
 * On a chain store's first start, fetches the chain's payer-key secret from HQ; later starts
 * read the file and need no HQ. The first start must be online: a payment keyed with another
 * secret would make the payer a stranger at the other branches.
 */
export async function provisionChainPayerKey(settings: Settings): Promise<void> {
  if (settings.chain.hqUrl === '' || existsSync(keyFile(settings))) return;
  let joined: { storeId: string; payerKeySecret: string };
  try {
    joined = await new HqClient(settings.chain).join();
  } catch (err) {
    if (err instanceof HqUnreachableError) {
      throw new UserError(`A store joins its chain online once: HQ at ${settings.chain.hqUrl} cannot be reached. Check chain.hqUrl and the network, then start again.`, 'chain-offline');
    }
    throw new UserError(`HQ refused this store (${(err as Error).message}). Check chain.storeId and chain.token ("memberlens hq stores add" prints them).`, 'chain-refused');
  }
  if (joined.storeId !== settings.chain.storeId) {
    throw new UserError(`The token belongs to chain store "${joined.storeId}", but chain.storeId is "${settings.chain.storeId}"; set one of them right.`, 'chain-refused');
  }
  writeFileSync(keyFile(settings), `${joined.payerKeySecret}\n`, { mode: 0o600, flag: 'wx' });
}

/**
 * The chain face key, when the owner installed it at this branch (chain.faceKeyFile, 64 hex
 * digits): every branch holds the same one, HQ never does.
 */
export function chainFaceKey(settings: Settings): Buffer | undefined {
  const file = path.resolve(settings.dataDir, settings.chain.faceKeyFile);
  if (settings.chain.hqUrl === '' || !existsSync(file)) return undefined;
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (key.length !== 32) throw new UserError(`${file} must hold the chain face key as 64 hex digits (e.g. from "openssl rand -hex 32"), the same at every branch.`, 'invalid-settings');
  return key;
}
