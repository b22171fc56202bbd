import type { ServiceMetrics } from '../core/serviceMetrics.js';
import type { MemberStore } from '../ledger/index.js';
import type { TrackerEvent } from '../matching/trackerTypes.js';
import type { TillPrompt } from '../push/tillEvents.js';
import type { TillMessage, TillNotifier } from '../push/tillNotifier.js';
import type { CampaignService } from './campaignService.js';
import type { MemberService } from './memberService.js';

/**
 * The one place a lane's recognition becomes what the shop sees of it: a processing-log entry
 * (a match is a processing of biometric data) with the dashboard's count of it in the same
 * transaction, the metrics, and the till event.
 */
export class RecognitionReporter {
  constructor(
    private readonly deps: {
      store: Pick<MemberStore, 'audit' | 'inTransaction' | 'rollups'>;
      members: Pick<MemberService, 'view'>;
      metrics: Pick<ServiceMetrics, 'recognitions' | 'unknowns'>;
      till: TillNotifier;
      /** The prompts of a member named at a lane (fired once per visit). */
      campaigns: Pick<CampaignService, 'atCounter'>;
    },
  ) {}

  report(lane: string, events: TrackerEvent[], atMs: number = Date.now()): void {
    const { store, metrics, till } = this.deps;
    for (const event of events) {
      if (event.type === 'recognized') {
        const message = this.recognized(event.memberId, event.confidence, () => this.deps.campaigns.atCounter(event.memberId, lane, 'face'));
        if (!message) continue; // deleted between match and popup
        metrics.recognitions.inc({ lane });
        store.inTransaction(() => {
          store.audit.record({ actor: `lane:${lane}`, action: 'match', subject: event.memberId, details: { confidence: message.body.confidence } });
          store.rollups.recognized(lane, event.memberId, atMs);
        });
        till.toLane(lane, 'member:recognized', message.body);
      } else if (event.type === 'unknown') {
        metrics.unknowns.inc({ lane });
        store.inTransaction(() => store.rollups.unknownFace(lane, atMs));
        till.toLane(lane, 'face:unknown', { trackId: event.trackId });
      } else if (event.memberId) {
        till.toLane(lane, 'member:left', { trackId: event.trackId, memberId: event.memberId });
      }
    }
  }

  /**
   * The popup for a member named on a lane, with the visit's prompts; also what a till joining
   * later gets for who stands there (then with the prompts already shown this visit).
   */
  recognized(memberId: string, confidence: number, prompts: () => TillPrompt[]): TillMessage<'member:recognized'> | undefined {
    const view = this.deps.members.view(memberId);
    if (!view) return undefined;
    return { event: 'member:recognized', body: { ...view, confidence: Math.round(confidence * 1000) / 1000, prompts: prompts() } };
  }
}
