import type { HqLedger } from './hqLedger.js';

const DAY_MS = 86_400_000;

/** Epoch ms of 00:00 on `day` (YYYY-MM-DD) in `timeZone`. */
export function zonedMidnightMs(day: string, timeZone: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const utcGuess = Date.UTC(y, m - 1, d);
  // The zone's offset at that instant, from how the zone writes it; twice for a DST change.
  let ms = utcGuess;
  for (let i = 0; i < 2; i++) ms = utcGuess - offsetMs(ms, timeZone);
  return ms;
}

function offsetMs(atMs: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(atMs))
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return asUtc - Math.floor(atMs / 1000) * 1000;
}

/**
 * The owner's overview for the whole chain and per store, shaped like a store's
 * GET /api/analytics/overview where HQ has the figures: sales are members' payments less
 * refunds (HQ receives member ledger entries; a store's non-member cash sales stay at the
 * store, so nonMembers is null), new members by the branch where they joined.
 */
export async function chainOverview(ledger: HqLedger, q: { from: string; to: string; timeZone: string }) {
  const fromMs = zonedMidnightMs(q.from, q.timeZone);
  const toMs = zonedMidnightMs(q.to, q.timeZone);
  const lengthMs = Math.max(DAY_MS, toMs - fromMs);
  const period = async (startMs: number, endMs: number) => {
    const byStore = await ledger.salesAndMembers(startMs, endMs);
    const stores = [...byStore].map(([storeId, s]) => ({
      storeId,
      salesFen: { total: s.salesFen, members: s.salesFen, nonMembers: null },
      payments: s.payments,
      newMembers: { total: s.newMembers },
    }));
    const salesFen = stores.reduce((sum, s) => sum + s.salesFen.total, 0);
    return {
      salesFen: { total: salesFen, members: salesFen, nonMembers: null },
      newMembers: { total: stores.reduce((sum, s) => sum + s.newMembers.total, 0) },
      stores,
    };
  };
  return {
    from: q.from,
    to: q.to,
    timeZone: q.timeZone,
    ...(await period(fromMs, toMs)),
    previous: await period(fromMs - lengthMs, fromMs),
  };
}
