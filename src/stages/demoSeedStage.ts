import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/logger.js';
import type { Stage } from '../core/stage.js';
import type { MemberStore } from '../ledger/index.js';
import type { MemberService } from '../services/memberService.js';

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/**
 * A newcomer's first start sees recognition happen: the demo members (public test faces) are
 * enrolled when the database has no members yet. Their consent record says it was the demo.
 */
export class DemoSeedStage implements Stage {
  readonly name = 'demo members';

  constructor(
    private readonly deps: { folder: string; store: Pick<MemberStore, 'members'>; members: Pick<MemberService, 'enrollMember'>; log: Logger },
  ) {}

  async start(): Promise<void> {
    const { folder, store, members, log } = this.deps;
    if (!folder || !existsSync(folder) || store.members.count() > 0) return;
    for (const file of readdirSync(folder).filter((f) => IMAGE_FILE.test(f)).sort()) {
      try {
        await members.enrollMember({
          name: path.parse(file).name,
          consent: { method: 'written', staff: 'demo-seed' },
          images: [{ label: file, bytes: readFileSync(path.join(folder, file)) }],
          source: 'cli',
          actor: 'system:demo-seed',
        });
      } catch (err) {
        log.warn({ file, err: (err as Error).message }, 'demo member not enrolled');
      }
    }
    log.info({ members: store.members.count(), folder }, 'demo members enrolled (first start)');
  }

  stop(): void {}
}
