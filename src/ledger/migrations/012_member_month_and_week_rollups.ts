import type { Migration } from './migration.js';

// Long dashboard periods without regrouping every member's days.
//
// rollup_member_months is rollup_member_days summed per calendar month (visits = the month's
// member-day rows, orders = their orders), keyed member first: a year's distinct-member figures
// stream through one row per member and month in key order instead of sorting every member-day.
// The days stay the truth for the months' partial edges.
//
// rollup_week_windows holds, for every store-local day, how many members bought in the seven
// days starting that day and how many bought twice or more: the weekly repeat-rate trend,
// whose weeks start on any weekday (the period's first), is then one row per week.
//
// rollup_member_days_by_member lets a write read one member's neighbouring days.
//
// Both are kept in the transaction of the write they count (RollupRepository) and are filled
// here from the member-days an upgraded store already has.
export const memberMonthAndWeekRollupsBackfill = `
INSERT INTO rollup_member_months (member_id, month, visits, orders)
  SELECT member_id, substr(day, 1, 7), COUNT(*), SUM(orders) FROM rollup_member_days GROUP BY member_id, substr(day, 1, 7);

INSERT INTO rollup_week_windows (day, buyers, repeaters)
  SELECT start, SUM(orders >= 1), SUM(orders >= 2) FROM (
    SELECT date(d.day, '-' || back.n || ' days') AS start, d.member_id, SUM(d.orders) AS orders
    FROM rollup_member_days d,
         (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6) back
    GROUP BY start, d.member_id)
  GROUP BY start HAVING SUM(orders >= 1) > 0;
`;

export const memberMonthAndWeekRollups: Migration = {
  version: 12,
  name: 'dashboard: member-months and seven-day buyer windows, backfilled from the member-days',
  sql: `
CREATE TABLE rollup_member_months (
  member_id TEXT NOT NULL,
  month     TEXT NOT NULL,
  visits    INTEGER NOT NULL DEFAULT 0,
  orders    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (member_id, month)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollup_week_windows (
  day       TEXT PRIMARY KEY,
  buyers    INTEGER NOT NULL DEFAULT 0,
  repeaters INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX rollup_member_days_by_member ON rollup_member_days (member_id, day, orders);
${memberMonthAndWeekRollupsBackfill}`,
};
