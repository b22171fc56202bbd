import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FACE_KEY_ENV, loadFaceKey } from '../../src/ledger/index.js';
import { thrownBy } from '../support/ledgerErrors.js';

let dir: string;
let keyFile: string;
const noEnv = {};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'memberlens-key-'));
  keyFile = join(dir, 'secrets', 'face.key');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const posix = process.platform !== 'win32';

describe('face key file', () => {
  it('is created on first start with 32 random bytes and mode 0600, then reused', () => {
    const key = loadFaceKey({ keyFile, env: noEnv });
    expect(key).toHaveLength(32);
    expect(readFileSync(keyFile).equals(key)).toBe(true);
    if (posix) expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(loadFaceKey({ keyFile, env: noEnv }).equals(key)).toBe(true);
  });

  it.runIf(posix)('is refused when group or others can read it, with the chmod fix', () => {
    loadFaceKey({ keyFile, env: noEnv });
    chmodSync(keyFile, 0o640);
    const err = thrownBy(() => loadFaceKey({ keyFile, env: noEnv }));
    expect(err.code).toBe('FACE_KEY_INVALID');
    expect(err.message).toContain(`chmod 600 ${keyFile}`);
    expect(err.message).toContain('640');
  });

  it('is refused, not replaced, when it has the wrong length', () => {
    loadFaceKey({ keyFile, env: noEnv });
    writeFileSync(keyFile, randomBytes(31));
    const err = thrownBy(() => loadFaceKey({ keyFile, env: noEnv }));
    expect(err.code).toBe('FACE_KEY_INVALID');
    expect(err.message).toContain(keyFile);
    expect(err.message).toContain('31 bytes');
    expect(readFileSync(keyFile)).toHaveLength(31);
  });
});

describe(`${FACE_KEY_ENV}`, () => {
  it('takes precedence over the key file, as hex or base64', () => {
    const key = randomBytes(32);
    expect(loadFaceKey({ keyFile, env: { [FACE_KEY_ENV]: key.toString('hex') } }).equals(key)).toBe(true);
    expect(loadFaceKey({ keyFile, env: { [FACE_KEY_ENV]: key.toString('base64') } }).equals(key)).toBe(true);
    expect(() => statSync(keyFile)).toThrow();
  });

  it('is refused when it is not 32 bytes', () => {
    for (const value of ['abc', randomBytes(16).toString('hex'), randomBytes(31).toString('base64')]) {
      const err = thrownBy(() => loadFaceKey({ keyFile, env: { [FACE_KEY_ENV]: value } }));
      expect(err.code).toBe('FACE_KEY_INVALID');
      expect(err.message).toContain(FACE_KEY_ENV);
      expect(err.message).not.toContain(value);
    }
  });
});
