import { byTestId } from '../shared/dom.js';

/** Long enough to read after looking up from the scanner; the next scan replaces it anyway. */
const STATUS_VISIBLE_MS = 15_000;

export type StatusTone = 'info' | 'ok' | 'warn';

/**
 * One line above the card saying what the scanner just read. The text is a function so a
 * language switch repaints it; a rejection carries the service's own sentence.
 */
export class ScanStatus {
  private describe: (() => string) | undefined;
  private member: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly line = byTestId('scan-status');

  /** `memberId` when the line names a member, so another member's card can replace it. */
  show(kind: string, tone: StatusTone, describe: () => string, memberId?: string): void {
    this.describe = describe;
    this.member = memberId;
    this.line.dataset.kind = kind;
    this.line.dataset.tone = tone;
    // A warning must be noticed by someone looking at the customer, not the screen.
    this.line.setAttribute('role', tone === 'warn' ? 'alert' : 'status');
    this.render();
    this.line.hidden = false;
    this.line.classList.remove('arrive');
    void this.line.offsetWidth;
    this.line.classList.add('arrive');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.hide(), STATUS_VISIBLE_MS);
  }

  /** The member the line on screen names, if any. */
  get memberId(): string | undefined {
    return this.member;
  }

  hide(): void {
    clearTimeout(this.timer);
    this.describe = undefined;
    this.member = undefined;
    this.line.hidden = true;
    this.line.textContent = '';
  }

  render(): void {
    if (this.describe) this.line.textContent = this.describe();
  }
}
