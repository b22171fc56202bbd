import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SERVICE_ENVIRONMENT } from '../src/install/systemdUnit.js';

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** The first-start tokens the service printed, by role. */
  tokens: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
}

export interface ServiceProcessOptions {
  /**
   * Start on an existing data dir (e.g. again after a crash) instead of a fresh one. The
   * service prints tokens only on a dir's first start, so the caller hands those back.
   */
  reuse?: { dir: string; tokens: Record<string, string> };
  /** Each chunk of the service's log (stderr); it is still passed on to this process's stderr. */
  onStderr?: (chunk: string) => void;
}

/**
 * Starts the real service as a store runs it (`node dist/main.js`, so run `npm run build`
 * first) on a fresh temp data dir (or `options.reuse.dir`) with the given settings, and reads
 * the first-start tokens from its output.
 */
export async function startServiceProcess(settings: Record<string, unknown>, options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
  const dir = options.reuse?.dir ?? mkdtempSync(path.join(tmpdir(), 'memberlens-service-'));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ dataDir: dir, server: { port: 0 }, ...settings }));
  const child = spawn(process.execPath, ['dist/main.js'], {
    // As the installed unit runs it (on Linux; the variable means nothing elsewhere).
    env: { ...process.env, ...SERVICE_ENVIRONMENT, MEMBERLENS_CONFIG: path.join(dir, 'config.json') },
    stdio: ['ignore', 'pipe', options.onStderr ? 'pipe' : 'inherit'],
  });
  if (options.onStderr) {
    const onStderr = options.onStderr;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      onStderr(chunk);
    });
  }
  // A reused dir prints no tokens: the banner's last line before them marks readiness instead.
  const ready = options.reuse ? /admin page:\s+\S+\n/ : /^\s+pos\s+\S+$/m;
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the service exited with ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (ready.test(out)) resolve();
    });
  });
  const url = /running at (\S+)/.exec(out)![1]!;
  const printed = Object.fromEntries([...out.matchAll(/^\s+(admin|till|device|pos)\s+(ml_\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return {
    child,
    url,
    tokens: { ...options.reuse?.tokens, ...printed },
    dir,
    stop: async () => {
      // A child ended by a signal (a SIGKILL crash test) has signalCode set and exitCode null.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The sum of every /metrics line matching `series` (e.g. all lanes of a counter), read with the
 * admin token. `timeoutMs` bounds the request for benches that run the service into overload.
 */
export async function serviceMetric(service: Pick<ServiceProcess, 'url' | 'tokens'>, series: RegExp, timeoutMs?: number): Promise<number> {
  const [sum] = await serviceMetrics(service, [series], timeoutMs);
  return sum!;
}

/**
 * Several sums from one scrape. Needed for figures the scrape itself resets, such as the
 * event-loop lag maximum, which covers the time since the previous scrape.
 */
export async function serviceMetrics(service: Pick<ServiceProcess, 'url' | 'tokens'>, series: RegExp[], timeoutMs?: number): Promise<number[]> {
  const res = await fetch(`${service.url}/metrics`, {
    headers: { authorization: `Bearer ${service.tokens.admin}` },
    signal: timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs),
  });
  const lines = (await res.text()).split('\n');
  return series.map((s) => lines.filter((l) => s.test(l)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0));
}
