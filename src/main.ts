import { startApp } from './app.js';
import { loadSettings } from './config/loadSettings.js';
import { UserError } from './core/errors.js';
import { createLogger } from './core/logger.js';

/** `npm start`: the till service on the settings in config/ and MEMBERLENS_*; SIGINT/SIGTERM stop it cleanly. */
async function main(): Promise<void> {
  const settings = loadSettings();
  const log = createLogger(settings.logLevel);
  const app = await startApp(settings, log);

  const lane = settings.lanes[0]?.id ?? 'demo';
  const till = app.firstStartTokens.find((t) => t.role === 'till');
  const lines = [
    '',
    `memberlens is running at ${app.url}`,
    `  till screen:  ${app.url}/till/?lane=${lane}${till ? `&token=${till.token}` : ''}`,
    `  admin page:   ${app.url}/admin/`,
  ];
  if (app.firstStartTokens.length > 0) {
    lines.push('', 'First start: these tokens are shown ONCE and stored only as hashes. Keep them safe.');
    for (const t of app.firstStartTokens) lines.push(`  ${t.role.padEnd(7)} ${t.token}`);
  }
  // Straight to the terminal, not the log: tokens must not end up in log files.
  process.stdout.write(`${lines.join('\n')}\n\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof UserError ? `memberlens: ${err.message}\n` : `memberlens: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
