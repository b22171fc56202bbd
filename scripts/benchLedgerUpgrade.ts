/**
 * What the schema 8 upgrade costs a store with a long history: a database at version 7 with
 * N members and P payments each (two ledger entries per payment) is opened by this release,
 * which rebuilds the ledger table once. Prints the time to open it (the upgrade) on a real
 * SQLite file with the service's pragmas. `npm run bench:upgrade [-- MEMBERS PAYMENTS_PER_MEMBER]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../src/ledger/database.js';
import { migrations } from '../src/ledger/migrations/migrations.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const members = Number(args[0] ?? 100_000);
const paymentsPerMember = Number(args[1] ?? 5);
const dir = mkdtempSync(path.join(tmpdir(), 'memberlens-bench-upgrade-'));
const file = path.join(dir, 'bench.db');
try {
  const old = openDatabase(file, { migrations: migrations.filter((m) => m.version < 8) });
  const now = Date.now();
  old.transaction(() => {
    const member = old.prepare('INSERT INTO members (id, name, phone, created_at_ms, updated_at_ms) VALUES (?, ?, NULL, ?, ?)');
    const entry = old.prepare('INSERT INTO ledger_entries (member_id, kind, spend_fen, points, order_id, at_ms, recorded_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (let i = 0; i < members; i++) {
      const id = `m_${i.toString(16).padStart(16, '0')}`;
      member.run(id, `member ${i}`, now, now);
      for (let p = 0; p < paymentsPerMember; p++) {
        entry.run(id, 'spend', 1000, 0, `o${i}-${p}`, now, now);
        entry.run(id, 'points-earn', 0, 10, `o${i}-${p}`, now, now);
      }
    }
  })();
  old.close();
  const started = performance.now();
  const db = openDatabase(file);
  const ms = performance.now() - started;
  const entries = (db.prepare('SELECT count(*) AS n FROM ledger_entries').get() as { n: number }).n;
  db.close();
  console.log(`upgrade to schema 8 of ${members} members, ${entries} ledger entries: ${(ms / 1000).toFixed(1)} s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
