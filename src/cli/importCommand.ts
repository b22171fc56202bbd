import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Settings } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import { childLogger, type Logger } from '../core/logger.js';
import { describeColumns, MEMBER_COLUMNS, PURCHASE_COLUMNS, readMemberRows, readPurchaseRows, type ReadResult } from '../operations/memberImportCsv.js';
import { memberServiceOf, openRecognitionCore } from '../recognitionCore.js';
import { MemberImportService, type ImportOutcome } from '../services/memberImportService.js';
import { SegmentService } from '../services/segmentService.js';
import { jsonLine } from './cliOutput.js';

type WithContext = (run: (settings: Settings, log: Logger) => Promise<void>) => Promise<void>;

/**
 * `memberlens import members|purchases FILE.csv`: a shop's existing membership from its
 * previous system. Prints one JSON line per rejected row ({line, field, problem}) and a
 * summary line; exit code 1 when any row was rejected. Re-running a file adds nothing.
 */
export function registerImportCommand(program: Command, withContext: WithContext, freeText: (option: string) => (value: string) => string): void {
  const command = program.command('import').description("bring members and past purchases from the shop's previous membership system (CSV, UTF-8)");
  command
    .command('members')
    .description(`create members with their opening points, stored value and tier; columns: ${describeColumns(MEMBER_COLUMNS)}`)
    .argument('<file>', 'CSV file, first line the column names')
    .option('--staff <name>', 'who imports, for the processing log', freeText('--staff'), process.env.USER ?? 'cli')
    .action((file: string, opts: { staff: string }) =>
      runImport(withContext, file, 'members', opts.staff, {
        read: (settings, text) => readMemberRows(text, settings.membership.tiers.map((t) => t.name)),
        write: (service, rows, actor) => service.importMembers(rows, actor),
      }),
    );
  command
    .command('purchases')
    .description(`past purchases of imported members, for their segments; columns: ${describeColumns(PURCHASE_COLUMNS)}`)
    .argument('<file>', 'CSV file, first line the column names')
    .option('--staff <name>', 'who imports, for the processing log', freeText('--staff'), process.env.USER ?? 'cli')
    .action((file: string, opts: { staff: string }) =>
      runImport(withContext, file, 'purchases', opts.staff, {
        read: (_settings, text) => readPurchaseRows(text, Date.now()),
        write: (service, rows, actor) => service.importPurchases(rows, actor),
      }),
    );
}

async function runImport<T>(
  withContext: WithContext,
  file: string,
  what: 'members' | 'purchases',
  staff: string,
  steps: { read: (settings: Settings, text: string) => ReadResult<T>; write: (service: MemberImportService, rows: T[], actor: string) => ImportOutcome },
): Promise<void> {
  await withContext(async (settings, log) => {
    const text = await readText(file);
    const { rows, records, rejected: unreadable } = steps.read(settings, text);
    const core = await openRecognitionCore(settings, log);
    let outcome: ImportOutcome;
    try {
      const service = new MemberImportService({
        store: core.store,
        members: memberServiceOf(core, settings, childLogger(log, 'members')),
        segments: new SegmentService({ store: core.store, settings: settings.segments, log: childLogger(log, 'segments') }),
        log: childLogger(log, 'import'),
      });
      outcome = steps.write(service, rows, `cli:${staff}`);
    } finally {
      await core.close();
    }
    const rejected = [...unreadable, ...outcome.rejected].sort((a, b) => a.line - b.line);
    for (const row of rejected) jsonLine(row);
    jsonLine({ file, what, rows: records, added: outcome.added, unchanged: outcome.unchanged, rejected: new Set(rejected.map((r) => r.line)).size });
    if (rejected.length > 0) process.exitCode = 1;
  });
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `No file ${file}.` : `Cannot read ${file} (${code ?? (err as Error).message}).`, 'file-unreadable');
  }
}
