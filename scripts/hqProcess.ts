import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
const MEMBERLENS_CLI = path.resolve('bin/memberlens.js');

const run = promisify(execFile);

export interface HqProcess {
  child: ChildProcess;
  url: string;
  port: number;
  stop(): Promise<void>;
}

const hqEnv = (databaseUrl: string, extra: Record<string, string> = {}) => ({ ...process.env, MEMBERLENS_HQ__DATABASE_URL: databaseUrl, MEMBERLENS_LOG_LEVEL: 'warn', ...extra });

/** `memberlens hq …` once, its one JSON line parsed. */
export async function hqCommand(databaseUrl: string, ...args: string[]): Promise<Record<string, string>> {
  const { stdout } = await run(process.execPath, [MEMBERLENS_CLI, 'hq', ...args], { env: hqEnv(databaseUrl) });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, string>;
}

/** `memberlens hq serve` as a child process on a free port, ready when it printed its URL. */
export async function startHqProcess(databaseUrl: string): Promise<HqProcess> {
  const child = spawn(process.execPath, [MEMBERLENS_CLI, 'hq', 'serve'], { env: hqEnv(databaseUrl, { MEMBERLENS_HQ__PORT: '0' }), stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`memberlens hq serve exited with ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const match = /memberlens hq is running at (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
