import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { UserError } from '../core/errors.js';
import { HQ_SCHEMA_STEPS } from './hqSchema.js';

export type HqPool = pg.Pool;
export type HqClient = pg.PoolClient;

/** Arbitrary but fixed: the advisory lock that orders schema steps of HQ processes started together. */
export const SCHEMA_LOCK = 0x6d6c_0001;

/**
 * Connects to HQ's PostgreSQL and brings its schema up to date. The pool is HQ's only state:
 * any number of HQ processes can share one database.
 */
export async function openHqDatabase(databaseUrl: string, poolSize: number): Promise<HqPool> {
  if (databaseUrl === '') {
    throw new UserError('HQ needs a PostgreSQL database: set hq.databaseUrl (MEMBERLENS_HQ__DATABASE_URL), e.g. postgres://memberlens@127.0.0.1/memberlens.', 'invalid-settings');
  }
  // bigint columns (sums of fen, sequence numbers) come back as numbers: they stay far below 2^53.
  pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  // An idle connection that breaks (the database restarted) must not crash the process.
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '28P01' || code === '3D000') {
      throw new UserError(`Cannot reach HQ's PostgreSQL database (${(err as Error).message}); check hq.databaseUrl and that PostgreSQL runs.`, 'hq-database-unreachable');
    }
    throw err;
  }
  return pool;
}

async function migrate(pool: HqPool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS hq_schema (version integer PRIMARY KEY)');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM hq_schema');
    const current = rows[0]?.v ?? 0;
    for (const step of HQ_SCHEMA_STEPS.filter((s) => s.version > current)) {
      await client.query(step.sql);
      await client.query('INSERT INTO hq_schema (version) VALUES ($1)', [step.version]);
    }
    // The chain-wide payer-key secret: the same payer is the same member at every branch.
    await client.query('INSERT INTO hq_settings (singleton, payer_key_secret) VALUES (1, $1) ON CONFLICT DO NOTHING', [randomBytes(32)]);
  });
}

/** Runs `fn` in one transaction on one connection; rolled back when it throws. */
export async function inTransaction<T>(pool: HqPool, fn: (client: HqClient) => Promise<T>, isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
