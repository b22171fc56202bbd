import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';
import type { MemberStore } from '../ledger/index.js';
import type { MemberService } from '../services/memberService.js';

/**
 * Follows members and faces that another process changed in the database — `memberlens members
 * delete` or `enroll` while the service runs: an erased member's descriptors leave the
 * in-memory gallery within `storage.followChangesEveryMs`, and a face enrolled from the
 * command line is recognized without a restart. Polling SQLite's data_version costs one pragma.
 */
export class MemberChangesStage extends PeriodicTask {
  private followedOnce = false;

  constructor(
    private readonly deps: {
      store: Pick<MemberStore, 'changedByOthers'>;
      members: Pick<MemberService, 'followChangesByOthers'>;
      everyMs: number;
      log: Logger;
    },
  ) {
    super({ name: 'member changes by other processes', everyMs: deps.everyMs, runAtStart: true, log: deps.log });
  }

  protected runOnce(): void {
    // The first run also covers what changed between loading the gallery and starting.
    if (this.deps.store.changedByOthers() || !this.followedOnce) this.deps.members.followChangesByOthers();
    this.followedOnce = true;
  }
}
