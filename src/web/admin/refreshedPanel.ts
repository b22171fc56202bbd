import { byTestId } from '../shared/dom.js';
import type { Feedback } from './feedback.js';

/**
 * A panel that shows one answer of the service and fetches it again on its refresh button:
 * the button is disabled while a fetch runs, a failure goes to the feedback line, and nothing
 * is claimed before the first answer (`data` stays undefined until then).
 */
export abstract class RefreshedPanel<T> {
  protected data: T | undefined;
  private readonly refreshButton: HTMLButtonElement;

  protected constructor(
    refreshButtonTestId: string,
    protected readonly feedback: Feedback,
  ) {
    this.refreshButton = byTestId<HTMLButtonElement>(refreshButtonTestId);
    this.refreshButton.addEventListener('click', () => void this.refresh());
  }

  protected abstract fetch(): Promise<T>;
  abstract render(): void;

  async refresh(): Promise<void> {
    this.refreshButton.disabled = true;
    try {
      this.data = await this.fetch();
      this.render();
    } catch (err) {
      this.feedback.error(err);
    } finally {
      this.refreshButton.disabled = false;
    }
  }

  clear(): void {
    this.data = undefined;
    this.render();
  }
}
