import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/ledger/database.js';
import { GroupCommit } from '../../src/ledger/groupCommit.js';

const schema = [{ version: 1, name: 'orders', sql: 'CREATE TABLE orders (id TEXT PRIMARY KEY, amount INTEGER NOT NULL CHECK (amount > 0));' }];

let dir: string;
let file: string;
let db: SqliteDatabase;
/** A second connection, as another process would have: it sees only committed rows. */
let reader: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'memberlens-group-'));
  file = join(dir, 'group.db');
  db = openDatabase(file, { migrations: schema });
  reader = new Database(file, { readonly: true });
});

afterEach(() => {
  reader.close();
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (id: string, amount: number) => () => db.prepare('INSERT INTO orders (id, amount) VALUES (?, ?)').run(id, amount).changes;
const committed = (id: string) => reader.prepare('SELECT count(*) AS n FROM orders WHERE id = ?').get(id) as { n: number };

it('commits writes queued in one turn of the event loop in one transaction, and resolves only once they are committed', async () => {
  const group = new GroupCommit(db, 100);
  const writes = Array.from({ length: 50 }, (_, i) =>
    group.run(insert(`o${i}`, i + 1)).then((changes) => ({ changes, visibleToOthers: committed(`o${i}`).n })),
  );
  // Queued, not yet written: another connection sees nothing.
  expect(committed('o0').n).toBe(0);
  const results = await Promise.all(writes);
  expect(results.every((r) => r.changes === 1 && r.visibleToOthers === 1)).toBe(true);
  expect(group.stats()).toEqual({ commits: 1, writes: 50, largestGroup: 50 });
});

it('undoes a write that throws alone; the others in its group still commit', async () => {
  const group = new GroupCommit(db, 100);
  const outcomes = await Promise.allSettled([
    group.run(insert('a', 1)),
    group.run(insert('a', 2)), // duplicate key
    group.run(() => {
      insert('b', 5)();
      return insert('c', -1)(); // CHECK fails after b was written: b must be undone with it
    }),
    group.run(insert('d', 4)),
  ]);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
  expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/CHECK/);
  expect(reader.prepare('SELECT id, amount FROM orders ORDER BY id').all()).toEqual([
    { id: 'a', amount: 1 },
    { id: 'd', amount: 4 },
  ]);
  expect(group.stats().commits).toBe(1);
});

it('splits a burst into groups of at most maxGroupSize, in arrival order', async () => {
  const group = new GroupCommit(db, 8);
  const order: number[] = [];
  await Promise.all(Array.from({ length: 20 }, (_, i) => group.run(() => order.push(i))));
  expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(group.stats()).toEqual({ commits: 3, writes: 20, largestGroup: 8 });
});

it('fails every write of a group whose transaction cannot start, and commits none of them', async () => {
  db.pragma('busy_timeout = 0');
  const other = new Database(file);
  other.exec('BEGIN IMMEDIATE'); // another process holds the write lock
  const group = new GroupCommit(db, 100);
  const outcomes = await Promise.allSettled([group.run(insert('x', 1)), group.run(insert('y', 1))]);
  other.exec('ROLLBACK');
  other.close();
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
  expect(committed('x').n + committed('y').n).toBe(0);
  // The group recovers for the next writes.
  await expect(group.run(insert('z', 1))).resolves.toBe(1);
  expect(committed('z').n).toBe(1);
});

it('drain() commits queued writes at once, so closing the database loses none of them', async () => {
  const group = new GroupCommit(db, 100);
  const pending = [group.run(insert('p', 1)), group.run(insert('q', 2))];
  group.drain();
  db.close();
  await expect(Promise.all(pending)).resolves.toEqual([1, 1]);
  expect(committed('p').n + committed('q').n).toBe(2);
});
