import type { Logger } from '../core/logger.js';
import { PeriodicTask } from '../core/periodicTask.js';
import type { MessageService } from '../services/messageService.js';

/**
 * Sends the messages that are due — newly queued campaigns and retries whose backoff has
 * passed — every messaging.deliverEveryMs, and at start the ones a restart interrupted.
 * stop() ends a run between two messages (one in flight is aborted and tried again later).
 */
export class OutboundMessagesStage extends PeriodicTask {
  constructor(private readonly deps: { messages: Pick<MessageService, 'deliverDue'>; everyMs: number; log: Logger }) {
    super({ name: 'outbound messages', everyMs: deps.everyMs, runAtStart: true, log: deps.log });
  }

  protected async runOnce(signal: AbortSignal): Promise<void> {
    await this.deps.messages.deliverDue(signal);
  }
}
