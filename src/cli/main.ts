#!/usr/bin/env node
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { loadSettings } from '../config/loadSettings.js';
import type { Settings } from '../config/settingsSchema.js';
import { UserError, errorMessage } from '../core/errors.js';
import { cleanFreeText } from '../core/freeText.js';
import { createLogger, type Logger } from '../core/logger.js';
import { backupFileName, restoreBackup, ROLES, verifyBackup, type ConsentMethod, type MemberStore, type Role } from '../ledger/index.js';
import { dataPath, memberServiceOf, openMemberStore, openRecognitionCore } from '../recognitionCore.js';
import { FaceEngine } from '../vision/faceEngine.js';
import { jsonLine, toEmbedRecord, toIdentifyRecord } from './cliOutput.js';
import { registerHqCommand } from './hqCommand.js';
import { registerImportCommand } from './importCommand.js';
import { registerServiceCommand } from './serviceCommand.js';

const CONSENT_METHODS: ConsentMethod[] = ['written', 'verbal-at-till', 'app', 'signage'];

interface GlobalOptions {
  dataDir?: string;
  config?: string;
}

/**
 * `memberlens` — the operator's command line. Results go to stdout (JSON lines for the
 * commands that other programs read), logs to stderr.
 */
export function buildCli(): Command {
  const program = new Command('memberlens')
    .description('Member recognition at the till: faces and payment QR codes in, member popups out')
    .option('--data-dir <dir>', 'folder of the database and face key (setting dataDir)')
    .option('--config <file>', 'settings file (default config/local.json)')
    .showHelpAfterError();

  program
    .command('embed')
    .description('print one JSON line per image: every face with box, score, quality and 128-number descriptor, largest first')
    .argument('<file...>', 'JPEG, PNG or WebP images')
    .addOption(new Option('--live', 'use the live-frame detector and quality gate instead of the enrollment ones'))
    .action(async (files: string[], opts: { live?: boolean }) => {
      await withContext(program, async (settings, log) => {
        const engine = await FaceEngine.create(settings.vision, log);
        let failed = 0;
        for (const file of files) {
          try {
            const analysis = await engine.analyzeBytes(await readFile(file), opts.live ? 'live' : 'enroll');
            jsonLine(toEmbedRecord(file, analysis.faces));
          } catch (err) {
            failed++;
            jsonLine({ file, error: describeFileError(err) });
          }
        }
        if (failed > 0) process.exitCode = 1;
      });
    });

  program
    .command('enroll')
    .description('create a member from photos of their face; the member\'s consent to face recognition is required')
    .requiredOption('--name <name>', 'member name as the till shows it', freeText('--name'))
    .option('--phone <phone>', 'mainland mobile number', freeText('--phone'))
    .addOption(new Option('--consent <method>', 'how the member gave face consent').choices(CONSENT_METHODS).makeOptionMandatory())
    .option('--staff <name>', 'staff member who recorded the consent', freeText('--staff'), process.env.USER ?? 'cli')
    .argument('<file...>', 'photos of the member alone, face frontal and sharp')
    .action(async (files: string[], opts: { name: string; phone?: string; consent: ConsentMethod; staff: string }) => {
      await withContext(program, async (settings, log) => {
        const core = await openRecognitionCore(settings, log);
        try {
          const images = await Promise.all(files.map(async (file) => ({ label: file, bytes: await readFile(file) })));
          const result = await memberServiceOf(core, settings, log).enrollMember({
            name: opts.name,
            phone: opts.phone ?? null,
            consent: { method: opts.consent, staff: opts.staff },
            images,
            source: 'cli',
            actor: `cli:${opts.staff}`,
          });
          jsonLine({
            memberId: result.member.id,
            name: result.member.name,
            faces: result.faces.map((f) => f.id),
            rejected: result.rejected,
          });
        } finally {
          await core.close();
        }
      });
    });

  program
    .command('identify')
    .description('print one JSON line per image: each face as a member (with distance and margin) or unknown')
    .argument('<file...>', 'JPEG, PNG or WebP images')
    .action(async (files: string[]) => {
      await withContext(program, async (settings, log) => {
        const core = await openRecognitionCore(settings, log);
        let failed = 0;
        try {
          for (const file of files) {
            try {
              const faces = await core.identification.identify(await readFile(file));
              jsonLine(toIdentifyRecord(file, faces, (id) => core.store.members.get(id)?.name));
            } catch (err) {
              failed++;
              jsonLine({ file, error: describeFileError(err) });
            }
          }
        } finally {
          await core.close();
        }
        if (failed > 0) process.exitCode = 1;
      });
    });

  const members = program.command('members').description('look up and delete members');
  members
    .command('list')
    .description('print members as JSON lines, newest first')
    .option('--query <text>', 'part of the name, or the start of the phone number')
    .option('--limit <n>', 'at most this many', parsePositiveInt, 100)
    .action(async (opts: { query?: string; limit: number }) => {
      await withStore(program, async (store) => {
        for (const member of store.members.list({ query: opts.query, limit: opts.limit })) {
          const faces = store.faces.listForMember(member.id).length;
          jsonLine({ id: member.id, name: member.name, phone: member.phone, faces, createdAt: new Date(member.createdAtMs).toISOString() });
        }
      });
    });
  members
    .command('delete')
    .description('delete a member with every face and consent record')
    .argument('<id>', 'member id, as `members list` prints it')
    .option('--staff <name>', 'who deletes, for the processing log', freeText('--staff'), process.env.USER ?? 'cli')
    .action(async (id: string, opts: { staff: string }) => {
      await withStore(program, async (store) => {
        const { deleted, deletedFaceIds } = store.deleteMember(id, `cli:${opts.staff}`);
        if (!deleted) throw new UserError(`No member ${id}; run "memberlens members list" to see the ids.`, 'member-not-found');
        jsonLine({ deleted: id, faces: deletedFaceIds.length });
      });
    });

  program
    .command('backup')
    .description('write an online backup of the member database (safe while the service runs)')
    .option('--to <file>', 'backup file (default: a new timestamped file in the backup folder)')
    .action(async (opts: { to?: string }) => {
      await withStore(program, async (store, settings) => {
        const file = opts.to ?? path.join(dataPath(settings, settings.backup.folder), backupFileName(Date.now()));
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        await store.backupTo(file);
        jsonLine({ backup: file, ...verifyBackup(file) });
      });
    });

  program
    .command('restore')
    .description('replace the member database with a backup; stop the service first. The current file is kept beside it')
    .argument('<file>', 'a backup written by `memberlens backup` or the service')
    .requiredOption('--yes', 'confirm: the current database is moved aside and the backup takes its place')
    .action(async (file: string) => {
      await withContext(program, async (settings) => {
        const result = restoreBackup(file, dataPath(settings, settings.storage.databaseFile), Date.now());
        jsonLine({ restored: file, ...result });
      });
    });

  const tokens = program.command('tokens').description('API tokens for the admin, tills, cameras and the POS');
  tokens
    .command('create')
    .argument('<role>', `one of ${ROLES.join(', ')}`)
    .option('--label <text>', 'what the token is for, e.g. "lane 2 screen"', freeText('--label'), '')
    .description('make a token; it is printed once and only its hash is stored')
    .action(async (role: string, opts: { label: string }) => {
      await withStore(program, async (store) => {
        const issued = store.tokens.issue(parseRole(role), opts.label || `${role} (cli)`);
        jsonLine({ id: issued.id, role: issued.role, label: issued.label, token: issued.token });
      });
    });
  tokens
    .command('list')
    .description('tokens as JSON lines (never the secrets)')
    .action(async () => {
      await withStore(program, async (store) => {
        for (const t of store.tokens.list()) jsonLine({ ...t, createdAt: new Date(t.createdAtMs).toISOString() });
      });
    });
  tokens
    .command('revoke')
    .argument('<id>', 'token id from `tokens list`')
    .action(async (id: string) => {
      await withStore(program, async (store) => {
        if (!store.tokens.revoke(id)) throw new UserError(`No active token ${id}; see "memberlens tokens list".`, 'token-not-found');
        jsonLine({ revoked: id });
      });
    });
  tokens
    .command('rotate')
    .argument('<role>', `one of ${ROLES.join(', ')}`)
    .description('revoke every active token of the role and make one new one')
    .action(async (role: string) => {
      await withStore(program, async (store) => {
        const r = parseRole(role);
        const issued = store.inTransaction(() => {
          const revoked = store.tokens.list().filter((t) => t.role === r && t.revokedAtMs === null);
          for (const t of revoked) store.tokens.revoke(t.id);
          return { revoked: revoked.map((t) => t.id), token: store.tokens.issue(r, `${r} (rotated)`) };
        });
        jsonLine({ revoked: issued.revoked, id: issued.token.id, role: r, token: issued.token.token });
      });
    });

  registerImportCommand(program, (run) => withContext(program, run), freeText);
  registerServiceCommand(program);
  registerHqCommand(program, withContext);

  return program;
}

function parseRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new UserError(`Unknown role "${role}"; use one of ${ROLES.join(', ')}.`, 'invalid-role');
  return role as Role;
}

async function withContext(program: Command, run: (settings: Settings, log: Logger) => Promise<void>): Promise<void> {
  const global = program.opts<GlobalOptions>();
  const env = global.config ? { ...process.env, MEMBERLENS_CONFIG: global.config } : process.env;
  const settings = loadSettings({ env, overrides: global.dataDir ? { dataDir: global.dataDir } : undefined });
  await run(settings, createLogger(settings.logLevel));
}

/** The member store alone (no face engine) for one command, closed however the command ends. */
async function withStore(program: Command, run: (store: MemberStore, settings: Settings) => Promise<void> | void): Promise<void> {
  await withContext(program, async (settings) => {
    const store = openMemberStore(settings);
    try {
      await run(store, settings);
    } finally {
      store.close();
    }
  });
}

function describeFileError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a directory, not an image';
  if (code === 'EACCES') return 'permission denied';
  if (err instanceof UserError) return err.message;
  return `unexpected error: ${errorMessage(err)}`;
}

/** The API's rule for free text: no control or bidi-control characters, NFC; a UserError (exit 2) names the option. */
function freeText(option: string): (value: string) => string {
  return (value) => cleanFreeText(value, option);
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`"${value}" is not a positive whole number.`);
  return n;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    // Operator mistakes get their message alone; anything else is a bug and keeps its stack.
    process.stderr.write(err instanceof UserError ? `memberlens: ${err.message}\n` : `memberlens: ${(err as Error).stack ?? err}\n`);
    process.exitCode = err instanceof UserError ? 2 : 1;
  }
}

await runCli(process.argv);
