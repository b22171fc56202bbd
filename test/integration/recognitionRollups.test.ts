import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../../src/core/serviceMetrics.js';
import { MemberStore } from '../../src/ledger/index.js';
import { NO_TILLS } from '../../src/push/tillNotifier.js';
import { RecognitionReporter } from '../../src/services/recognitionReporter.js';
import { storeSettings } from '../support/settings.js';
import { tempDirPerTest } from '../support/tempDir.js';

const dir = tempDirPerTest('recognition-rollups');
// 23:30 in Shanghai on 2026-11-03 is 15:30 UTC: the dashboard's day is the store's.
const LATE_EVENING = Date.parse('2026-11-03T15:30:00Z');
const NEXT_MORNING = Date.parse('2026-11-04T01:10:00Z');

describe('recognitions in the dashboard rollups', () => {
  it('counts each recognition and unknown face per lane and store-local day, and a member once per day as a visit', () => {
    const store = dir.track(
      MemberStore.open({ databaseFile: path.join(dir.path, 'm.db'), faceKey: randomBytes(32), ...storeSettings(), timeZone: 'Asia/Shanghai' }),
    );
    const member = store.enrollMember({ actor: 'test', name: 'Amy' }).member;
    const reporter = new RecognitionReporter({
      store,
      members: { view: (id) => (id === member.id ? { memberId: id, name: 'Amy', tier: { name: '普通', discountRate: 1 }, points: 0, balance: 0 } : undefined) },
      metrics: new ServiceMetrics(),
      till: NO_TILLS,
      campaigns: { atCounter: () => [] },
    });
    const recognized = (trackId: string) => ({ type: 'recognized' as const, trackId, memberId: member.id, confidence: 0.9, distance: 0.3 });
    reporter.report('lane1', [recognized('t1'), { type: 'unknown', trackId: 't2' }], LATE_EVENING);
    reporter.report('lane2', [recognized('t3')], LATE_EVENING + 60_000);
    reporter.report('lane1', [recognized('t4'), { type: 'unknown', trackId: 't5' }, { type: 'unknown', trackId: 't6' }], NEXT_MORNING);
    // A member deleted between match and popup is no recognition.
    reporter.report('lane1', [{ type: 'recognized', trackId: 't7', memberId: 'm_gone', confidence: 0.9, distance: 0.3 }], NEXT_MORNING);

    const lanes = store.analytics.lanes('2026-11-03', '2026-11-05');
    expect(lanes).toEqual([
      { lane: 'lane1', recognitions: 2, unknownFaces: 3, faceLinkedPayments: 0 },
      { lane: 'lane2', recognitions: 1, unknownFaces: 0, faceLinkedPayments: 0 },
    ]);
    expect(store.analytics.lanes('2026-11-03', '2026-11-04')).toEqual([
      { lane: 'lane1', recognitions: 1, unknownFaces: 1, faceLinkedPayments: 0 },
      { lane: 'lane2', recognitions: 1, unknownFaces: 0, faceLinkedPayments: 0 },
    ]);
    // Two recognitions that evening are one visit; the next morning is another.
    expect(store.analytics.sums('2026-11-03', '2026-11-04').memberVisits).toBe(1);
    expect(store.analytics.sums('2026-11-04', '2026-11-05').memberVisits).toBe(1);
    expect(store.analytics.visitHours('2026-11-03', '2026-11-05')).toEqual([
      { day: '2026-11-03', hour: 23, visits: 1 },
      { day: '2026-11-04', hour: 9, visits: 1 },
    ]);
    // A visit without a purchase: an active member, not a buyer.
    expect(store.analytics.members('2026-11-03', '2026-11-05')).toMatchObject({ active: 1, buyers: 0, repeaters: 0, visits2: 1 });
  });
});
