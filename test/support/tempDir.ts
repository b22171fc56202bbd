import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

export interface TempDirPerTest {
  /** This test's fresh directory. */
  readonly path: string;
  /** Closes `handle` after the test (before the directory goes); returns it. */
  track<T extends { close: () => unknown }>(handle: T): T;
}

/**
 * A fresh temp directory for each test of the file, removed after it together with every
 * database handle the test opened there; a handle the test closed itself is fine.
 */
export function tempDirPerTest(prefix: string): TempDirPerTest {
  let path = '';
  const handles: { close: () => unknown }[] = [];
  beforeEach(() => {
    path = mkdtempSync(join(tmpdir(), `memberlens-${prefix}-`));
  });
  afterEach(() => {
    for (const handle of handles.splice(0)) {
      try {
        handle.close();
      } catch {
        // already closed by the test
      }
    }
    rmSync(path, { recursive: true, force: true });
  });
  return {
    get path() {
      return path;
    },
    track(handle) {
      handles.push(handle);
      return handle;
    },
  };
}
