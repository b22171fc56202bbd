import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { PACKAGE_ROOT, SERVICE_NAME } from './serviceInstaller.js';

export interface WindowsServiceOptions {
  dryRun: boolean;
  /** Start after installing / stop before removing. */
  start: boolean;
  dataDir: string;
  configFile: string;
}

type Print = (line: string) => void;

/** The part of node-windows' Service this module uses (the package ships no types). */
interface WindowsService {
  readonly exists: boolean;
  directory(dir?: string): string;
  install(): void;
  uninstall(): void;
  start(): void;
  stop(): void;
  on(event: string, listener: (detail?: unknown) => void): void;
}
type ServiceConstructor = new (config: Record<string, unknown>) => WindowsService;

export function defaultWindowsDataDir(): string {
  return path.join(process.env.ProgramData ?? 'C:\\ProgramData', SERVICE_NAME);
}

/**
 * `memberlens service install` on Windows, through node-windows: it ships the WinSW service
 * wrapper (winsw.exe) inside its npm package, so nothing is downloaded at install time. The
 * service runs as LocalSystem and is restarted by node-windows' wrapper when it exits.
 */
export async function installWindowsService(opts: WindowsServiceOptions, print: Print): Promise<void> {
  const config = serviceConfig(opts);
  if (opts.dryRun) {
    print(`# memberlens service install would register this Windows service (node-windows, WinSW):`);
    print(JSON.stringify(config, null, 2));
    print(`# with WinSW's files in ${daemonParent(opts)}\\daemon${opts.start ? ', then start it' : ''}`);
    return;
  }
  if (!existsSync(config.script)) {
    throw new UserError(`${config.script} is missing: build the package first (npm run build), then install the service.`, 'not-built');
  }
  requireAdministrator('install');
  mkdirSync(opts.dataDir, { recursive: true });
  const service = await createService(config, opts);
  if (service.exists) {
    throw new UserError(`The service "${SERVICE_NAME}" is installed already; run "memberlens service uninstall" first.`, 'already-installed');
  }
  await untilEvent(service, 'install', () => service.install());
  print(`installed the Windows service "${SERVICE_NAME}"`);
  if (opts.start) {
    await untilEvent(service, 'start', () => service.start());
    print(`started it`);
  }
  print(`  data (database, face key, backups): ${opts.dataDir} — kept by "memberlens service uninstall"`);
  print(`  settings: ${opts.configFile} (optional)`);
  print(`  logs:     ${path.join(daemonParent(opts), 'daemon')} (${SERVICE_NAME}.err.log)`);
}

/** `memberlens service uninstall` on Windows: stop and remove the service. The data stays. */
export async function uninstallWindowsService(opts: WindowsServiceOptions, print: Print): Promise<void> {
  if (opts.dryRun) {
    print(`# memberlens service uninstall would stop and remove the Windows service "${SERVICE_NAME}" and keep ${opts.dataDir}`);
    return;
  }
  requireAdministrator('uninstall');
  const service = await createService(serviceConfig(opts), opts);
  if (!service.exists) {
    print(`The Windows service "${SERVICE_NAME}" is not installed; nothing to remove.`);
    return;
  }
  await untilEvent(service, 'uninstall', () => service.uninstall());
  print(`The service "${SERVICE_NAME}" is removed. Kept: the data in ${opts.dataDir} (database, face key, backups).`);
}

function serviceConfig(opts: WindowsServiceOptions) {
  return {
    name: SERVICE_NAME,
    description: 'memberlens: member recognition at the till',
    script: path.join(PACKAGE_ROOT, 'dist', 'main.js'),
    execPath: process.execPath,
    // node-windows' default is --harmony.
    nodeOptions: [] as string[],
    workingDirectory: PACKAGE_ROOT,
    env: [
      { name: 'NODE_ENV', value: 'production' },
      { name: 'MEMBERLENS_DATA_DIR', value: path.resolve(opts.dataDir) },
      { name: 'MEMBERLENS_CONFIG', value: path.resolve(opts.configFile) },
    ],
    // Restart after a crash: first after 5 s, growing by a quarter each time.
    wait: 5,
    grow: 0.25,
    maxRestarts: 10,
    stoptimeout: 30,
  };
}

/** WinSW's files live beside the data, not in the package that an upgrade replaces. */
function daemonParent(opts: WindowsServiceOptions): string {
  return path.resolve(opts.dataDir);
}

async function createService(config: ReturnType<typeof serviceConfig>, opts: WindowsServiceOptions): Promise<WindowsService> {
  let Service: ServiceConstructor;
  try {
    // A variable specifier: node-windows is an optional, Windows-only dependency without types.
    const specifier = 'node-windows';
    const mod = (await import(specifier)) as { Service?: ServiceConstructor; default?: { Service: ServiceConstructor } };
    Service = (mod.Service ?? mod.default?.Service)!;
  } catch (err) {
    throw new UserError(
      `The optional package node-windows is not installed (${(err as Error).message}). ` +
        'Run "npm install" in the memberlens folder on this PC, or install the service by hand as the README describes.',
      'no-service-manager',
    );
  }
  const service = new Service(config);
  service.directory(daemonParent(opts));
  return service;
}

// node-windows throws from a callback when it lacks the right, which would end the process
// with a bare "Permission Denied"; `net session` succeeds only in an elevated terminal.
function requireAdministrator(command: string): void {
  if (spawnSync('net', ['session'], { stdio: 'ignore', windowsHide: true }).status !== 0) {
    throw new UserError(`Run "memberlens service ${command}" in an administrator terminal (Run as administrator).`, 'not-admin');
  }
}

/** node-windows reports through events; an `error` event, or a missing admin right, rejects. */
function untilEvent(service: WindowsService, done: string, act: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    service.on(done, () => resolve());
    service.on('error', (detail) =>
      reject(new UserError(`node-windows: ${String(detail)}`, 'service-failed')),
    );
    service.on('invalidinstallation', () =>
      reject(new UserError(`A broken "${SERVICE_NAME}" service is registered; remove it with "memberlens service uninstall".`, 'service-failed')),
    );
    act();
  });
}
