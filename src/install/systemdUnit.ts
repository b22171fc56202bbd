import path from 'node:path';
import { UserError } from '../core/errors.js';

/** Everything the unit file depends on; every path absolute. */
export interface SystemdUnitSettings {
  /** System user (and its group) the service runs as. */
  user: string;
  /** Groups for device access; each must exist on the machine. */
  supplementaryGroups: readonly string[];
  /** The node binary. */
  nodePath: string;
  /** The installed package's folder: the working directory, so `config/` and `demo/` resolve. */
  packageRoot: string;
  /** The service entry, `dist/main.js` of the installed package. */
  entryScript: string;
  /** Database, face key and backups (MEMBERLENS_DATA_DIR). */
  dataDir: string;
  /** The store's settings file (MEMBERLENS_CONFIG); it need not exist yet. */
  configFile: string;
  /** How long a stop may take before systemd kills the service. */
  stopTimeoutSec: number;
  /** Wait before a restart after a crash. */
  restartDelaySec: number;
}

/**
 * Environment the service runs in beyond its own variables, for anything that starts it as the
 * installed unit does (the benchmarks too). glibc gives each thread that allocates its own
 * malloc arena, up to 8 per core; with inference workers, libvips and libuv threads each
 * holding freed memory in an arena of their own, two arenas took about 55 MB off the service's
 * RSS with two workers analyzing camera frames for 90 s.
 */
export const SERVICE_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** Folders whose contents ProtectHome= hides from the service. */
const HOME_FOLDERS = ['/home', '/root', '/run/user'];

/**
 * The systemd unit text for the till service. Pure: settings in, file text out, so it can be
 * printed by `--dry-run` and checked with `systemd-analyze verify` in the tests.
 */
export function systemdUnit(s: SystemdUnitSettings): string {
  for (const [name, value] of Object.entries({
    'node binary': s.nodePath,
    'package folder': s.packageRoot,
    'entry script': s.entryScript,
    'data folder': s.dataDir,
    'settings file': s.configFile,
  })) {
    checkUnitPath(name, value);
  }
  for (const name of [s.user, ...s.supplementaryGroups]) checkAccountName(name);

  const stateDirectory = underFolder('/var/lib', s.dataDir);
  const configurationDirectory = underFolder('/etc', path.dirname(s.configFile));
  // A node or package installed in a home folder (nvm, npm's user prefix) must stay readable.
  const protectHome = [s.nodePath, s.packageRoot].some((p) => HOME_FOLDERS.some((home) => underFolder(home, p) !== undefined))
    ? 'read-only'
    : 'yes';

  const lines = [
    '# Written by `memberlens service install`; `memberlens service uninstall` removes it.',
    '# Put local changes in a drop-in (systemctl edit memberlens): an upgrade rewrites this file.',
    '[Unit]',
    'Description=memberlens: member recognition at the till',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${s.user}`,
    `Group=${s.user}`,
    // Cameras (video), serial scanners (dialout), keyboard-wedge scanners read through evdev (input).
    ...(s.supplementaryGroups.length > 0 ? [`SupplementaryGroups=${s.supplementaryGroups.join(' ')}`] : []),
    `WorkingDirectory=${s.packageRoot}`,
    'Environment=NODE_ENV=production',
    `Environment=MEMBERLENS_DATA_DIR=${s.dataDir}`,
    `Environment=MEMBERLENS_CONFIG=${s.configFile}`,
    ...Object.entries(SERVICE_ENVIRONMENT).map(([name, value]) => `Environment=${name}=${value}`),
    `ExecStart=${s.nodePath} ${s.entryScript}`,
    'Restart=on-failure',
    `RestartSec=${s.restartDelaySec}s`,
    // SIGTERM to the service alone: it stops its lanes (and their ffmpeg) first, then the rest.
    'KillSignal=SIGTERM',
    'KillMode=mixed',
    `TimeoutStopSec=${s.stopTimeoutSec}s`,
    // stdout carries the first start's tokens, which must not land in the journal; logs are on stderr.
    'StandardOutput=null',
    'StandardError=journal',
    'SyslogIdentifier=memberlens',
    ...(stateDirectory ? [`StateDirectory=${stateDirectory}`, 'StateDirectoryMode=0700'] : []),
    ...(configurationDirectory ? [`ConfigurationDirectory=${configurationDirectory}`] : []),
    'UMask=0077',
    // Hardening that leaves /dev alone: PrivateDevices=, DevicePolicy= and ProtectClock= (which
    // adds a device allow-list) would cut off cameras and scanners plugged in later.
    // MemoryDenyWriteExecute= is left out because V8's JIT and WebAssembly need it.
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ProtectHome=${protectHome}`,
    'PrivateTmp=yes',
    `ReadWritePaths=${s.dataDir}`,
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    // AF_NETLINK: udev, which serial-port listing uses.
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'CapabilityBoundingSet=',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

/** `dir` relative to `folder` when it lies strictly inside it, else undefined. */
function underFolder(folder: string, dir: string): string | undefined {
  const rel = path.posix.relative(folder, dir);
  return rel && !rel.startsWith('..') && !path.posix.isAbsolute(rel) ? rel : undefined;
}

// Unit files give spaces, quotes, backslashes and `%` (specifiers) meanings of their own;
// refusing them is simpler and safer than escaping each setting's own way.
function checkUnitPath(name: string, value: string): void {
  if (!path.posix.isAbsolute(value)) {
    throw new UserError(`The ${name} must be an absolute path for the service, not "${value}".`, 'invalid-path');
  }
  if (/[\s"'\\%$;]|[\u0000-\u001f\u007f]/.test(value)) {
    throw new UserError(
      `The ${name} "${value}" contains a space, quote, backslash, % or $, which a systemd unit cannot take as is; ` +
        'use a folder without them.',
      'invalid-path',
    );
  }
}

function checkAccountName(name: string): void {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) {
    throw new UserError(`"${name}" is not a valid user or group name (lower-case letters, digits, - and _).`, 'invalid-user');
  }
}
