import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { startApp, type RunningApp } from '../../src/app.js';
import { settingsSchema } from '../../src/config/settingsSchema.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import type { Role } from '../../src/ledger/index.js';

export type SettingsInput = z.input<typeof settingsSchema>;

export interface TestApp {
  app: RunningApp;
  /** The first-start token of each role. */
  tokens: Record<Role, string>;
  /** The temp data dir, removed by stop(). */
  dir: string;
  stop(): Promise<void>;
}

/**
 * The whole service on a fresh temp dir and port 0, quiet and without demo members or
 * backups, with one lane (lane1) fed by an HTTP-pushing camera and one inference worker.
 * `settings` replaces any of those top-level sections and adds the test's own.
 */
export async function startTestApp(
  name: string,
  settings: Partial<SettingsInput> = {},
  logger: Logger = createLogger('silent'),
): Promise<TestApp> {
  const dir = mkdtempSync(path.join(tmpdir(), `memberlens-${name}-`));
  let app: RunningApp;
  try {
    app = await startApp(
      settingsSchema.parse({
        dataDir: dir,
        logLevel: 'silent',
        server: { port: 0 },
        inference: { workers: 1 },
        lanes: [{ id: 'lane1', camera: { kind: 'http-push' } }],
        demo: { seedFolder: '' },
        backup: { intervalHours: 0 },
        ...settings,
      }),
      logger,
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const tokens = Object.fromEntries(app.firstStartTokens.map((t) => [t.role, t.token])) as Record<Role, string>;
  return {
    app,
    tokens,
    dir,
    async stop() {
      try {
        await app.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The header that carries a token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** POSTs `body` as JSON with a bearer token; the answer's status and parsed JSON body. */
export function postJson(url: string, token: string, body: unknown): Promise<{ status: number; body: any }> {
  return requestJson(url, token, 'POST', body);
}

/** Any method with a bearer token and an optional JSON body; the answer's status and parsed JSON body. */
export async function requestJson(url: string, token: string, method: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: { ...bearer(token), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}
