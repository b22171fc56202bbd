import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LedgerError } from './ledgerErrors.js';

export const FACE_KEY_ENV = 'MEMBERLENS_FACE_KEY';
const KEY_BYTES = 32;

export interface LoadFaceKeyOptions {
  /** Raw 32-byte key file; created with mode 0600 on first start when the env var is unset. */
  keyFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Returns the AES-256 key for face descriptors: from MEMBERLENS_FACE_KEY when set (so a
 * deployment can keep it in a secret store), otherwise from the key file.
 */
export function loadFaceKey(opts: LoadFaceKeyOptions): Buffer {
  const fromEnv = (opts.env ?? process.env)[FACE_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseEnvKey(fromEnv.trim());
  return readOrCreateKeyFile(resolve(opts.keyFile));
}

function parseEnvKey(text: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new LedgerError(
    'FACE_KEY_INVALID',
    `${FACE_KEY_ENV} must be 64 hex characters or the base64 form of ${KEY_BYTES} bytes ` +
      '(generate one with `openssl rand -hex 32`). If faces are already enrolled, set it back ' +
      'to the key they were written with.',
  );
}

function readOrCreateKeyFile(path: string): Buffer {
  if (!exists(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      // 'wx' so two processes starting at once cannot both write a key and disagree.
      // The umask can only narrow 0600, never widen it.
      writeFileSync(path, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LedgerError('FACE_KEY_INVALID', `Cannot create face key file ${path}: ${String(err)}`, {
          cause: err,
        });
      }
    }
  }

  const stat = statSync(path);
  if (!stat.isFile()) {
    throw new LedgerError('FACE_KEY_INVALID', `Face key file ${path} is not a regular file`);
  }
  // Windows has no POSIX permission bits; there the file's ACL is the operator's job.
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    throw new LedgerError(
      'FACE_KEY_INVALID',
      `Face key file ${path} is readable or writable by group/others (mode ` +
        `${(stat.mode & 0o777).toString(8).padStart(3, '0')}); anyone who can read it can decrypt ` +
        `every enrolled face. Fix it with: chmod 600 ${path}`,
    );
  }
  const key = readFileSync(path);
  if (key.length !== KEY_BYTES) {
    throw new LedgerError(
      'FACE_KEY_INVALID',
      `Face key file ${path} holds ${key.length} bytes, expected exactly ${KEY_BYTES} raw bytes. ` +
        'Restore the original key file from backup; a new key cannot read faces already enrolled.',
    );
  }
  return key;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
