import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { systemdUnit, type SystemdUnitSettings } from '../../src/install/systemdUnit.js';
import { tempDirPerTest } from '../support/tempDir.js';
import { MEMBERLENS_CLI } from '../support/cli.js';

const run = promisify(execFile);
const REPO = path.resolve('.');
const dir = tempDirPerTest('service');

/** What `service install` writes on a till PC, with this machine's node and this checkout's build. */
const TILL_PC: SystemdUnitSettings = {
  user: 'memberlens',
  supplementaryGroups: ['video', 'dialout', 'input'],
  nodePath: process.execPath,
  packageRoot: REPO,
  entryScript: path.join(REPO, 'dist', 'main.js'),
  dataDir: '/var/lib/memberlens',
  configFile: '/etc/memberlens/local.json',
  stopTimeoutSec: 30,
  restartDelaySec: 5,
};

/**
 * `systemd-analyze verify` (Debian package systemd; works without systemd running). It exits 0
 * even for unknown keys and unparsable values, only warning about them, so every line it
 * prints about the unit counts as a failure.
 */
function verify(unitFile: string): { status: number | null; problems: string[] } {
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', unitFile], { encoding: 'utf8' });
  if (result.error) throw new Error(`systemd-analyze is needed for this test (apt-get install systemd): ${result.error.message}`);
  const problems = `${result.stdout}${result.stderr}`
    .split('\n')
    .filter((line) => line.includes(path.basename(unitFile)) || /Unknown|Invalid|Failed|not executable|ignoring/i.test(line));
  return { status: result.status, problems };
}

function writeUnit(text: string): string {
  const file = path.join(dir.path, 'memberlens.service');
  writeFileSync(file, text);
  return file;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MEMBERLENS_CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('systemd unit', () => {
  it('passes systemd-analyze verify without a single warning', () => {
    expect(existsSync(TILL_PC.entryScript), 'dist/main.js: run npm run build first').toBe(true);
    const result = verify(writeUnit(systemdUnit(TILL_PC)));
    expect(result.problems).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('restarts on failure, stops on SIGTERM, runs as its own user with data in /var/lib/memberlens, hardened but with device access', () => {
    const unit = systemdUnit(TILL_PC);
    for (const line of [
      `ExecStart=${process.execPath} ${REPO}/dist/main.js`,
      `WorkingDirectory=${REPO}`,
      'Restart=on-failure',
      'User=memberlens',
      'StateDirectory=memberlens',
      'Environment=MEMBERLENS_DATA_DIR=/var/lib/memberlens',
      'Environment=MEMBERLENS_CONFIG=/etc/memberlens/local.json',
      'Environment=MALLOC_ARENA_MAX=2',
      'ReadWritePaths=/var/lib/memberlens',
      'KillSignal=SIGTERM',
      'TimeoutStopSec=30s',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'SupplementaryGroups=video dialout input',
      'After=network-online.target',
      'Wants=network-online.target',
      'WantedBy=multi-user.target',
      // The first start's tokens go to stdout; they must not land in the journal.
      'StandardOutput=null',
      'StandardError=journal',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    // Any of these would lock out cameras and scanners plugged in later.
    expect(unit).not.toMatch(/^(PrivateDevices|DevicePolicy|DeviceAllow|ProtectClock)=/m);
  });

  it('catches a broken unit (so the check above means something)', () => {
    const good = systemdUnit(TILL_PC);
    expect(verify(writeUnit(good.replace('ProtectHome=yes', 'ProtectHome=bogus'))).problems).not.toEqual([]);
    expect(verify(writeUnit(good.replace('[Install]', 'RestartOnFailure=yes\n\n[Install]'))).problems).not.toEqual([]);
    const missingNode = verify(writeUnit(good.replace(`ExecStart=${process.execPath}`, 'ExecStart=/nonexistent/node')));
    expect(missingNode.status).not.toBe(0);
  });

  it('keeps a node installed in a home folder readable, and refuses paths a unit cannot hold', () => {
    const nvm = systemdUnit({ ...TILL_PC, nodePath: '/home/shop/.nvm/versions/node/v20.19.0/bin/node' });
    expect(nvm).toContain('ProtectHome=read-only');
    expect(() => systemdUnit({ ...TILL_PC, dataDir: '/srv/member lens' })).toThrow(/space/);
    expect(() => systemdUnit({ ...TILL_PC, dataDir: 'data' })).toThrow(/absolute/);
    expect(() => systemdUnit({ ...TILL_PC, user: 'Shop Owner' })).toThrow(/not a valid user/);
    // Outside /var/lib systemd does not make the folder: no StateDirectory=, the installer does it.
    const srv = systemdUnit({ ...TILL_PC, dataDir: '/srv/memberlens' });
    expect(srv).not.toContain('StateDirectory=');
    expect(srv).toContain('ReadWritePaths=/srv/memberlens');
  });
});

describe('memberlens service install / uninstall', () => {
  it('--dry-run prints the unit and the steps and changes nothing', async () => {
    const unitDir = path.join(dir.path, 'units');
    const { code, stdout } = await cli('service', 'install', '--dry-run', '--unit-dir', unitDir);
    expect(code).toBe(0);
    expect(stdout).toContain('[Service]');
    expect(stdout).toContain(`ExecStart=${process.execPath} ${REPO}/dist/main.js`);
    expect(stdout).toContain(`write ${unitDir}/memberlens.service`);
    expect(stdout).toContain('systemctl daemon-reload');
    expect(stdout).toContain('systemctl enable memberlens');
    expect(existsSync(unitDir)).toBe(false);
  });

  it('--no-start writes a unit that verifies, with the given data folder; uninstall removes it and keeps the data', async () => {
    const unitDir = path.join(dir.path, 'units');
    // Under /var/lib systemd makes the folder when the service starts, so install leaves it alone;
    // and an existing user: nothing is created on the machine that runs the test.
    const dataDir = '/var/lib/memberlens-install-test';
    const user = userInfo().username;

    const install = await cli('--data-dir', dataDir, 'service', 'install', '--no-start', '--unit-dir', unitDir, '--user', user);
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    const unitFile = path.join(unitDir, 'memberlens.service');
    const unit = readFileSync(unitFile, 'utf8');
    expect(unit).toContain(`Environment=MEMBERLENS_DATA_DIR=${dataDir}`);
    expect(unit).toContain(`User=${user}`);
    expect(install.stdout).toContain('journalctl -u memberlens');
    expect(install.stdout).not.toMatch(/^(useradd|systemctl)/m);
    expect(verify(unitFile).problems).toEqual([]);

    const uninstall = await cli('service', 'uninstall', '--no-stop', '--unit-dir', unitDir);
    expect(uninstall.code).toBe(0);
    expect(readdirSync(unitDir)).toEqual([]);
    expect(uninstall.stdout).toContain(`Kept: the data in ${dataDir}`);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('--dry-run with a data folder outside /var/lib plans to make it and give it to the service user', async () => {
    const dataDir = path.join(dir.path, 'till-data');
    const { code, stdout } = await cli('--data-dir', dataDir, 'service', 'install', '--dry-run', '--unit-dir', dir.path);
    expect(code).toBe(0);
    expect(stdout).toContain(`mkdir -p ${dataDir} && chown -R memberlens:memberlens ${dataDir} && chmod 0700 ${dataDir}`);
    expect(stdout).not.toContain('StateDirectory=');
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it('refuses a data folder a unit cannot hold, with a message and exit code 2', async () => {
    const { code, stderr } = await cli('--data-dir', '/srv/member lens', 'service', 'install', '--dry-run');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^memberlens: The data folder "\/srv\/member lens" contains a space/);
  });
});
