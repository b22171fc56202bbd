import type { MemberRecognized } from '../../push/tillEvents.js';
import { byTestId } from '../shared/dom.js';
import { formatCount, formatDiscount, formatPercent, formatYuan } from '../shared/i18n.js';

/** Long enough to ring up a basket; the member leaving the camera usually hides it sooner. */
const CARD_VISIBLE_MS = 20_000;

/** The large card the cashier reads the discount, points and balance from. */
export class MemberCard {
  private shown: MemberRecognized | undefined;
  private hideTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly card = byTestId('popup');
  private readonly idle = byTestId('idle');
  private readonly thumbnail = byTestId<HTMLImageElement>('popup-thumbnail');
  private readonly avatar = byTestId('popup-avatar');

  constructor() {
    byTestId('popup-close').addEventListener('click', () => this.hide());
    // A thumbnail that fails to load should not leave a broken-image icon in front of the customer.
    this.thumbnail.addEventListener('error', () => this.showAvatar());
  }

  show(event: MemberRecognized): void {
    this.shown = event;
    this.render();
    this.card.hidden = false;
    this.idle.hidden = true;
    // Restart the entrance animation so a new member is noticed even if the card was up.
    this.card.classList.remove('arrive');
    void this.card.offsetWidth;
    this.card.classList.add('arrive');
    clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => this.hide(), CARD_VISIBLE_MS);
  }

  hideIfShowing(memberId: string): void {
    if (this.shown?.memberId === memberId) this.hide();
  }

  hide(): void {
    clearTimeout(this.hideTimer);
    this.shown = undefined;
    this.card.hidden = true;
    this.idle.hidden = false;
    // Drop the face image from memory as well as from view.
    this.thumbnail.removeAttribute('src');
  }

  /** Repaints in the current language; formats like the discount differ between languages. */
  render(): void {
    const event = this.shown;
    if (!event) return;
    byTestId('popup-name').textContent = event.name;
    byTestId('popup-tier').textContent = event.tier.name;
    byTestId('popup-discount').textContent = formatDiscount(event.tier.discountRate);
    byTestId('popup-points').textContent = formatCount(event.points);
    byTestId('popup-balance').textContent = formatYuan(event.balance);
    byTestId('popup-confidence').textContent = formatPercent(event.confidence);
    this.avatar.textContent = Array.from(event.name)[0] ?? '';
    if (event.thumbnailUrl) {
      if (this.thumbnail.getAttribute('src') !== event.thumbnailUrl) this.thumbnail.src = event.thumbnailUrl;
      this.thumbnail.hidden = false;
      this.avatar.hidden = true;
    } else {
      this.showAvatar();
    }
  }

  private showAvatar(): void {
    this.thumbnail.hidden = true;
    this.avatar.hidden = false;
  }
}
