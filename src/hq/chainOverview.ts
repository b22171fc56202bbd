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
 * store, so nonMembers, the member share and the order total are null), members' orders,
 * buying members and the repeat rate (members with ≥ 2 orders ÷ members with ≥ 1, chain-wide:
 * a member who bought at two branches is a repeat buyer of the chain), new members by the
 * branch where they joined.
 */
export async function chainOverview(ledger: HqLedger, query: { from?: string; to?: string; timeZone: string }) {
  const q = { ...defaultPeriod(query.timeZone), ...(query.from && query.to ? { from: query.from, to: query.to } : {}), timeZone: query.timeZone };
  const fromMs = zonedMidnightMs(q.from, q.timeZone);
  const toMs = zonedMidnightMs(q.to, q.timeZone);
  const lengthMs = Math.max(DAY_MS, toMs - fromMs);
  const period = async (startMs: number, endMs: number) => {
    const byStore = await ledger.salesAndMembers(startMs, endMs);
    const buyers = await ledger.buyers(startMs, endMs);
    const none = { buying: 0, repeat: 0, orders: 0 };
    const stores = [...byStore].map(([storeId, s]) => {
      const b = buyers.byStore.get(storeId) ?? none;
      return {
        storeId,
        salesFen: { total: s.salesFen, members: s.salesFen, nonMembers: null },
        memberShareOfSales: null,
        orders: { total: null, members: b.orders, nonMembers: null },
        payments: s.payments,
        buyingMembers: b.buying,
        repeatRate: b.buying === 0 ? null : b.repeat / b.buying,
        newMembers: { total: s.newMembers },
      };
    });
    const salesFen = stores.reduce((sum, s) => sum + s.salesFen.total, 0);
    return {
      salesFen: { total: salesFen, members: salesFen, nonMembers: null },
      memberShareOfSales: null,
      orders: { total: null, members: buyers.chain.orders, nonMembers: null },
      buyingMembers: buyers.chain.buying,
      repeatRate: buyers.chain.buying === 0 ? null : buyers.chain.repeat / buyers.chain.buying,
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

/** The last 7 days up to and including today in `timeZone`: to is tomorrow (exclusive). */
function defaultPeriod(timeZone: string): { from: string; to: string } {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  const shift = (days: number) => new Date(Date.parse(`${today}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
  return { from: shift(-6), to: shift(1) };
}
