import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';
import { linuxHost } from './linuxHost.js';
import { systemdUnit } from './systemdUnit.js';

export const SERVICE_NAME = 'memberlens';
export const DEFAULT_UNIT_DIR = '/etc/systemd/system';
export const DEFAULT_LINUX_DATA_DIR = '/var/lib/memberlens';
export const DEFAULT_LINUX_CONFIG_FILE = '/etc/memberlens/local.json';
/** Cameras, serial scanners, keyboard-wedge scanners (evdev). */
const DEVICE_GROUPS = ['video', 'dialout', 'input'];
const STOP_TIMEOUT_SEC = 30;
const RESTART_DELAY_SEC = 5;

/** The installed package: this file is `dist/install/…` (or `src/install/…` in a checkout). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/[\\/]$/, '');

export interface LinuxInstallOptions {
  /** Print the unit and the steps; change nothing. */
  dryRun: boolean;
  /** daemon-reload, enable and (re)start after writing the unit. */
  start: boolean;
  unitDir: string;
  user: string;
  dataDir: string;
  configFile: string;
}

export interface LinuxUninstallOptions {
  dryRun: boolean;
  /** Stop and disable the service before removing its unit. */
  stop: boolean;
  unitDir: string;
}

/** One change to the machine: what it is, in words a shell user recognizes, and doing it. */
interface Step {
  say: string;
  run: () => void;
  needsRoot: boolean;
}

type Print = (line: string) => void;

/**
 * `memberlens service install` on Linux: a system user, the systemd unit, then enable and
 * start. Checks first that it can do all of it, so a refusal leaves the machine untouched.
 */
export function installLinuxService(opts: LinuxInstallOptions, print: Print): void {
  const host = linuxHost;
  const dataDir = path.resolve(opts.dataDir);
  const configFile = path.resolve(opts.configFile);
  const entryScript = path.join(PACKAGE_ROOT, 'dist', 'main.js');
  const unitFile = path.join(path.resolve(opts.unitDir), `${SERVICE_NAME}.service`);

  const groups = DEVICE_GROUPS.filter((g) => host.groupExists(g));
  const unit = systemdUnit({
    user: opts.user,
    supplementaryGroups: groups,
    nodePath: process.execPath,
    packageRoot: PACKAGE_ROOT,
    entryScript,
    dataDir,
    configFile,
    stopTimeoutSec: STOP_TIMEOUT_SEC,
    restartDelaySec: RESTART_DELAY_SEC,
  });

  const steps: Step[] = [];
  if (!host.userExists(opts.user)) {
    const args = ['--system', '--user-group', '--home-dir', dataDir, '--no-create-home', '--shell', host.noLoginShell(), opts.user];
    steps.push({ say: `useradd ${args.join(' ')}`, run: () => host.run('useradd', args), needsRoot: true });
  }
  // Under /var/lib, systemd creates the folder and hands it to the user (StateDirectory=).
  if (!isInside('/var/lib', dataDir)) {
    steps.push({
      say: `mkdir -p ${dataDir} && chown -R ${opts.user}:${opts.user} ${dataDir} && chmod 0700 ${dataDir}`,
      run: () => {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        host.run('chown', ['-R', `${opts.user}:${opts.user}`, dataDir]);
        host.run('chmod', ['0700', dataDir]);
      },
      needsRoot: true,
    });
  }
  // Needs root only for a system folder; writeUnit says so when it is refused.
  steps.push({ say: `write ${unitFile}`, run: () => writeUnit(unitFile, unit), needsRoot: false });
  if (opts.start) {
    steps.push(systemctl(['daemon-reload']));
    steps.push(systemctl(['enable', SERVICE_NAME]));
    // restart, not start: after an upgrade the running service must pick up the new version.
    steps.push(systemctl(['restart', SERVICE_NAME]));
  }

  const missingGroups = DEVICE_GROUPS.filter((g) => !groups.includes(g));
  if (opts.dryRun) {
    print(unit);
    print(`# memberlens service install would, as root:`);
    for (const step of steps) print(`  ${step.say}`);
    if (missingGroups.length > 0) print(`# group(s) ${missingGroups.join(', ')} do not exist here and are left out of SupplementaryGroups=`);
    return;
  }

  if (!existsSync(entryScript)) {
    throw new UserError(`${entryScript} is missing: build the package first (npm run build), then install the service.`, 'not-built');
  }
  if (opts.start) requireSystemd();
  if (steps.some((s) => s.needsRoot) && !host.isRoot()) {
    throw new UserError('Installing the service changes the system: run it as root (sudo memberlens service install), or see --dry-run.', 'not-root');
  }

  for (const step of steps) {
    print(step.say);
    step.run();
  }
  if (missingGroups.length > 0) print(`group(s) ${missingGroups.join(', ')} do not exist here and were left out of SupplementaryGroups=`);
  print('');
  print(`memberlens is installed as the systemd service "${SERVICE_NAME}", running as user ${opts.user}.`);
  print(`  data (database, face key, backups): ${dataDir} — kept by "memberlens service uninstall"`);
  print(`  settings: ${configFile} (optional)`);
  print(`  logs:     journalctl -u ${SERVICE_NAME} -f`);
  if (opts.start) {
    print(`  the service prints no API tokens; make them (admin, till, device, pos) with:`);
    print(`    cd ${PACKAGE_ROOT} && sudo -u ${opts.user} env MEMBERLENS_DATA_DIR=${dataDir} MEMBERLENS_CONFIG=${configFile} ${process.execPath} bin/memberlens.js tokens rotate admin`);
  } else {
    print(`  not started (--no-start): systemctl daemon-reload && systemctl enable --now ${SERVICE_NAME}`);
  }
}

/** `memberlens service uninstall` on Linux: stop, disable, remove the unit. The data stays. */
export function uninstallLinuxService(opts: LinuxUninstallOptions, print: Print): void {
  const unitFile = path.join(path.resolve(opts.unitDir), `${SERVICE_NAME}.service`);
  if (!existsSync(unitFile)) {
    print(`No unit at ${unitFile}: the service is not installed there, nothing to remove.`);
    return;
  }
  const installed = readInstalledUnit(unitFile);
  const steps: Step[] = [];
  if (opts.stop) steps.push(systemctl(['disable', '--now', SERVICE_NAME]));
  steps.push({ say: `rm ${unitFile}`, run: () => asOwnerOf(unitFile, () => rmSync(unitFile)), needsRoot: false });
  if (opts.stop) steps.push(systemctl(['daemon-reload']));

  const kept = [
    installed.dataDir && `the data in ${installed.dataDir} (database, face key, backups)`,
    installed.user && `the user ${installed.user}`,
  ].filter(Boolean);
  // Only the user install creates is offered for deletion; --user may have named an account in other use.
  const erase = [installed.dataDir && `rm -r ${installed.dataDir}`, installed.user === SERVICE_NAME && `userdel ${SERVICE_NAME}`].filter(Boolean);

  if (opts.dryRun) {
    print(`# memberlens service uninstall would, as root:`);
    for (const step of steps) print(`  ${step.say}`);
    if (kept.length > 0) print(`# and keep ${kept.join(' and ')}`);
    return;
  }
  if (opts.stop) requireSystemd();
  if (steps.some((s) => s.needsRoot) && !linuxHost.isRoot()) {
    throw new UserError('Removing the service changes the system: run it as root (sudo memberlens service uninstall), or see --dry-run.', 'not-root');
  }
  for (const step of steps) {
    print(step.say);
    step.run();
  }
  print('');
  print(`The service "${SERVICE_NAME}" is removed.${kept.length > 0 ? ` Kept: ${kept.join(' and ')}.` : ''}`);
  if (erase.length > 0) print(`To erase every member and face for good as well: sudo ${erase.join(' && sudo ')}`);
}

function systemctl(args: string[]): Step {
  return { say: `systemctl ${args.join(' ')}`, run: () => linuxHost.run('systemctl', args), needsRoot: true };
}

function requireSystemd(): void {
  if (!linuxHost.hasCommand('systemctl')) {
    throw new UserError(
      'systemctl was not found: this machine does not use systemd. Write the unit with --no-start, ' +
        'or run "node dist/main.js" under the init system you have.',
      'no-systemd',
    );
  }
  if (!linuxHost.systemdRunning()) {
    throw new UserError(
      'systemd is not running on this machine (no /run/systemd/system; a container?). ' +
        'Use --no-start to only write the unit, or start "node dist/main.js" another way.',
      'no-systemd',
    );
  }
}

function writeUnit(unitFile: string, unit: string): void {
  asOwnerOf(unitFile, () => {
    mkdirSync(path.dirname(unitFile), { recursive: true });
    writeFileSync(unitFile, unit, { mode: 0o644 });
  });
}

/** Runs a change to the unit file; a refusal says to use root rather than showing a bare EACCES. */
function asOwnerOf(unitFile: string, change: () => void): void {
  try {
    change();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new UserError(`Cannot change ${unitFile} (${code}): run as root (sudo), or choose another --unit-dir.`, 'not-root');
    }
    throw err;
  }
}

/** The user and data folder an installed unit names, for the uninstall message. */
function readInstalledUnit(unitFile: string): { user?: string; dataDir?: string } {
  const text = readFileSync(unitFile, 'utf8');
  return {
    user: /^User=(.+)$/m.exec(text)?.[1],
    dataDir: /^Environment=MEMBERLENS_DATA_DIR=(.+)$/m.exec(text)?.[1],
  };
}

function isInside(folder: string, dir: string): boolean {
  const rel = path.relative(folder, dir);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
