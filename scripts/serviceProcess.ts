import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** The first-start tokens the service printed, by role. */
  tokens: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts the real service as a store runs it (`node dist/main.js`, so run `npm run build`
 * first) on a fresh temp data dir with the given settings, and reads the first-start tokens
 * from its output.
 */
export async function startServiceProcess(settings: Record<string, unknown>): Promise<ServiceProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'memberlens-service-'));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ dataDir: dir, server: { port: 0 }, ...settings }));
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: { ...process.env, MEMBERLENS_CONFIG: path.join(dir, 'config.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the service exited with ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (/^\s+pos\s+\S+$/m.test(out)) resolve();
    });
  });
  const url = /running at (\S+)/.exec(out)![1]!;
  const tokens = Object.fromEntries([...out.matchAll(/^\s+(admin|till|device|pos)\s+(ml_\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return {
    child,
    url,
    tokens,
    dir,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
