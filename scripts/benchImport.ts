/**
 * A shop's whole previous membership through the installed command, as the owner runs it:
 * N members and P past purchases each, written as CSV, then `memberlens import members` and
 * `memberlens import purchases` on a fresh data folder, and each once more (the re-run that
 * adds nothing). Prints the wall time of each run (process start included) and rows per
 * second. `npm run bench:import [-- MEMBERS PURCHASES_PER_MEMBER] [--json]`; builds first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const DAY_MS = 86_400_000;
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const members = Number(args[0] ?? 10_000);
const purchasesPerMember = Number(args[1] ?? 5);
const json = process.argv.includes('--json');
const cli = path.resolve('bin/memberlens.js');

const dir = mkdtempSync(path.join(tmpdir(), 'memberlens-bench-import-'));
try {
  const phone = (i: number) => `139${String(i).padStart(8, '0')}`;
  const memberRows = ['name,phone,birthday,tier,points,storedValueYuan'];
  const purchaseRows = ['phone,paidAt,amountYuan,orderNo'];
  const now = Date.now();
  for (let i = 0; i < members; i++) {
    memberRows.push(`会员${i},${phone(i)},1990-${String((i % 12) + 1).padStart(2, '0')}-15,${i % 10 === 0 ? '黄金' : ''},${i % 500},${(i % 300).toFixed(2)}`);
    for (let p = 0; p < purchasesPerMember; p++) {
      const at = new Date(now - ((i * 7 + p * 61) % 400) * DAY_MS - DAY_MS).toISOString();
      purchaseRows.push(`${phone(i)},${at},${((i + p) % 200) + 9.9},R${i}-${p}`);
    }
  }
  const membersFile = path.join(dir, 'members.csv');
  const purchasesFile = path.join(dir, 'purchases.csv');
  writeFileSync(membersFile, `${memberRows.join('\n')}\n`);
  writeFileSync(purchasesFile, `${purchaseRows.join('\n')}\n`);

  const run = (what: string, file: string) => {
    const started = performance.now();
    const out = execFileSync(process.execPath, [cli, '--data-dir', path.join(dir, 'data'), 'import', what, file], {
      env: { ...process.env, MEMBERLENS_LOG_LEVEL: 'warn' },
      maxBuffer: 64 * 1024 * 1024,
    }).toString();
    const seconds = (performance.now() - started) / 1000;
    const summary = JSON.parse(out.trim().split('\n').at(-1)!) as { rows: number; added: number; unchanged: number; rejected: number };
    return { what, ...summary, seconds: Math.round(seconds * 100) / 100, rowsPerSecond: Math.round(summary.rows / seconds) };
  };
  const results = [run('members', membersFile), run('purchases', purchasesFile), run('members', membersFile), run('purchases', purchasesFile)];
  if (json) {
    process.stdout.write(`${JSON.stringify({ members, purchasesPerMember, runs: results })}\n`);
  } else {
    console.log(`import of ${members} members and ${members * purchasesPerMember} past purchases (a fresh data folder, then the same files again)`);
    for (const r of results) {
      console.log(`  ${r.what.padEnd(9)} rows ${r.rows}  added ${r.added}  unchanged ${r.unchanged}  rejected ${r.rejected}  ${r.seconds} s  (${r.rowsPerSecond} rows/s)`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
