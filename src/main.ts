import { loadSettings } from './config/loadSettings.js';
import { UserError } from './core/errors.js';
import { createLogger } from './core/logger.js';
import { openRecognitionCore } from './recognitionCore.js';

/**
 * Entry point of `npm start`. Until the till service lands it opens the recognition core
 * on the default settings — store, gallery, face engine — reports what it found, and
 * points the operator to the CLI.
 */
async function main(): Promise<void> {
  const settings = loadSettings();
  const log = createLogger(settings.logLevel);
  const core = await openRecognitionCore(settings, log);
  try {
    log.info(
      {
        dataDir: settings.dataDir,
        backend: core.engine.backend,
        members: core.store.members.count(),
        faces: core.gallery.size,
        searchKernel: core.gallery.kernel,
      },
      'memberlens recognition core ready; the till service is not built yet — use "npm run cli -- --help"',
    );
  } finally {
    core.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof UserError ? `memberlens: ${err.message}\n` : `memberlens: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
