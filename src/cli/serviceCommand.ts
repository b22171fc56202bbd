import path from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULT_LINUX_CONFIG_FILE,
  DEFAULT_LINUX_DATA_DIR,
  DEFAULT_UNIT_DIR,
  installLinuxService,
  SERVICE_NAME,
  uninstallLinuxService,
} from '../install/serviceInstaller.js';
import { defaultWindowsDataDir, installWindowsService, uninstallWindowsService } from '../install/windowsService.js';

const print = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `memberlens service install|uninstall`: run the till service at boot (systemd on Linux,
 * a Windows service through node-windows). The global --data-dir and --config choose the
 * service's data folder and settings file.
 */
export function registerServiceCommand(program: Command): void {
  const service = program
    .command('service')
    .description(`run the till service at boot as the system service "${SERVICE_NAME}" (systemd on Linux, a Windows service on Windows)`);

  service
    .command('install')
    .description(
      `install and start the service; global --data-dir (default ${DEFAULT_LINUX_DATA_DIR}) and --config ` +
        `(default ${DEFAULT_LINUX_CONFIG_FILE}) are what it will use`,
    )
    .option('--dry-run', 'print the unit and the steps, change nothing')
    .option('--no-start', 'write the unit (and create the user) but do not enable or start it')
    .option('--unit-dir <dir>', 'where the systemd unit goes', DEFAULT_UNIT_DIR)
    .option('--user <name>', 'system user the service runs as; created when missing', SERVICE_NAME)
    .action(async (opts: { dryRun?: boolean; start: boolean; unitDir: string; user: string }) => {
      const { dataDir, configFile } = serviceLocations(program);
      if (process.platform === 'win32') {
        await installWindowsService({ dryRun: Boolean(opts.dryRun), start: opts.start, dataDir, configFile }, print);
        return;
      }
      installLinuxService({ dryRun: Boolean(opts.dryRun), start: opts.start, unitDir: opts.unitDir, user: opts.user, dataDir, configFile }, print);
    });

  service
    .command('uninstall')
    .description('stop and remove the service; the data folder (members, faces, backups) is kept')
    .option('--dry-run', 'print the steps, change nothing')
    .option('--no-stop', 'only remove the unit file, leave systemd alone')
    .option('--unit-dir <dir>', 'where the systemd unit is', DEFAULT_UNIT_DIR)
    .action(async (opts: { dryRun?: boolean; stop: boolean; unitDir: string }) => {
      if (process.platform === 'win32') {
        const { dataDir, configFile } = serviceLocations(program);
        await uninstallWindowsService({ dryRun: Boolean(opts.dryRun), start: opts.stop, dataDir, configFile }, print);
        return;
      }
      uninstallLinuxService({ dryRun: Boolean(opts.dryRun), stop: opts.stop, unitDir: opts.unitDir }, print);
    });
}

/** The service's own defaults, not a checkout's ./data: a system service keeps data in a system folder. */
function serviceLocations(program: Command): { dataDir: string; configFile: string } {
  const global = program.opts<{ dataDir?: string; config?: string }>();
  const windows = process.platform === 'win32';
  const dataDir = path.resolve(global.dataDir ?? (windows ? defaultWindowsDataDir() : DEFAULT_LINUX_DATA_DIR));
  const configFile = path.resolve(global.config ?? (windows ? path.join(dataDir, 'local.json') : DEFAULT_LINUX_CONFIG_FILE));
  return { dataDir, configFile };
}
