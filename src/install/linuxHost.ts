import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.js';

/** What the Linux installer asks of the machine, and the commands it runs there. */
export const linuxHost = {
  isRoot(): boolean {
    return process.getuid?.() === 0;
  },

  /** The same test as sd_booted(): systemd is the init system that is running now. */
  systemdRunning(): boolean {
    return existsSync('/run/systemd/system');
  },

  hasCommand(name: string): boolean {
    const probe = spawnSync(name, ['--version'], { stdio: 'ignore' });
    return (probe.error as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT';
  },

  userExists(name: string): boolean {
    return spawnSync('getent', ['passwd', name], { stdio: 'ignore' }).status === 0;
  },

  groupExists(name: string): boolean {
    return spawnSync('getent', ['group', name], { stdio: 'ignore' }).status === 0;
  },

  /** The first login shell that refuses logins, for the service's system user. */
  noLoginShell(): string {
    return ['/usr/sbin/nologin', '/sbin/nologin'].find((shell) => existsSync(shell)) ?? '/bin/false';
  },

  /** Runs a command to completion; a failure becomes an error that shows the command and its output. */
  run(command: string, args: readonly string[]): void {
    const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.error) throw new UserError(`Could not run ${command}: ${result.error.message}`, 'command-failed');
    if (result.status !== 0) {
      const output = `${result.stdout}${result.stderr}`.trim();
      throw new UserError(
        `"${[command, ...args].join(' ')}" failed (exit ${result.status ?? result.signal})${output ? `:\n${output}` : ''}`,
        'command-failed',
      );
    }
  },
};
