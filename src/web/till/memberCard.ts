import type { TierView, TillPrompt } from '../../push/tillEvents.js';
import { byTestId } from '../shared/dom.js';
import { formatCount, formatDiscount, formatPercent, formatYuan, t, type MessageKey } from '../shared/i18n.js';
import { PromptList } from './promptList.js';

/** Long enough to ring up a basket; the member leaving the camera usually hides it sooner. */
const CARD_VISIBLE_MS = 20_000;

/** How the member on the card was identified. */
export type CardVia = 'face' | 'member-qr' | 'phone' | 'payment' | 'enrolled';

/** What the card shows; a face, a scanned code, a payment or a new membership can each fill it. */
export interface CardView {
  memberId: string;
  name: string;
  tier: TierView;
  /** Absent when the event that named the member did not carry it; the card then shows a dash, never a guess. */
  points?: number;
  /** Stored value in yuan. */
  balance?: number;
  via: CardVia;
  /** Only for a face: 0–1. */
  confidence?: number;
  thumbnailUrl?: string;
  payment?: { amount: number; pointsEarned: number; faceConflict: boolean; coupon?: { couponId: string; title: string; discountYuan: number } };
  /** Campaign prompts of this visit; each event brings only new ones, the card keeps them all. */
  prompts?: TillPrompt[];
}

/** Facts about this visit that arrive as their own events, in any order around the payment. */
export interface CardNotes {
  newMember: boolean;
  tierChange?: { to: TierView; upgrade: boolean };
}

/** The large card the cashier reads the discount, points and balance from. */
export class MemberCard {
  private shown: CardView | undefined;
  private hideTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly card = byTestId('popup');
  private readonly idle = byTestId('idle');
  private readonly thumbnail = byTestId<HTMLImageElement>('popup-thumbnail');
  private readonly avatar = byTestId('popup-avatar');
  private readonly badge = byTestId('new-member-badge');
  private readonly upgrade = byTestId('tier-upgrade');
  private readonly paymentLine = byTestId('payment-line');
  private readonly conflict = byTestId('face-conflict');
  private readonly confidenceLine = byTestId('popup-confidence-line');
  private readonly source = byTestId('popup-source');

  private readonly prompts: PromptList;

  /**
   * `onVisitEnd` runs when the member's card goes away: their visit, and its notes, are over.
   * `applyCoupon` is the cashier's one tap on a coupon prompt.
   */
  constructor(
    private readonly notesFor: (memberId: string) => CardNotes,
    private readonly onVisitEnd: (memberId: string) => void = () => {},
    applyCoupon: (couponId: string) => Promise<void> = () => Promise.resolve(),
  ) {
    this.prompts = new PromptList(applyCoupon);
    byTestId('popup-close').addEventListener('click', () => this.hide());
    // A thumbnail that fails to load should not leave a broken-image icon in front of the customer.
    this.thumbnail.addEventListener('error', () => this.showAvatar());
  }

  get showingId(): string | undefined {
    return this.shown?.memberId;
  }

  /**
   * Shows the member. If the card already shows them (a face, then their payment), the new
   * facts update it in place and what only the earlier event knew — the face's confidence
   * and thumbnail — stays.
   */
  show(view: CardView): void {
    const previous = this.shown;
    const same = previous?.memberId === view.memberId;
    if (!same) this.prompts.clear();
    this.shown = same ? merge(previous, view) : view;
    this.render();
    this.card.hidden = false;
    this.idle.hidden = true;
    if (!same) {
      // Restart the entrance animation so a new member is noticed even if the card was up.
      restartAnimation(this.card, 'arrive');
    } else if (view.payment) {
      restartAnimation(this.paymentLine, 'bump');
    }
    clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => this.hide(), CARD_VISIBLE_MS);
  }

  /** A tier change for the member on the card; anyone else's waits in the visit notes. */
  updateTier(memberId: string, tier: TierView): void {
    if (this.shown?.memberId !== memberId) return;
    this.shown = { ...this.shown, tier };
    this.render();
  }

  hideIfShowing(memberId: string): void {
    if (this.shown?.memberId === memberId) this.hide();
  }

  hide(): void {
    clearTimeout(this.hideTimer);
    const ended = this.shown?.memberId;
    this.shown = undefined;
    this.card.hidden = true;
    this.idle.hidden = false;
    this.prompts.clear();
    // Drop the face image from memory as well as from view.
    this.thumbnail.removeAttribute('src');
    if (ended !== undefined) this.onVisitEnd(ended);
  }

  /** Repaints in the current language; formats like the discount differ between languages. */
  render(): void {
    const view = this.shown;
    if (!view) return;
    const dash = t('till.unknownFigure');
    byTestId('popup-name').textContent = view.name;
    byTestId('popup-tier').textContent = view.tier.name;
    byTestId('popup-discount').textContent = formatDiscount(view.tier.discountRate);
    byTestId('popup-points').textContent = view.points === undefined ? dash : formatCount(view.points);
    byTestId('popup-balance').textContent = view.balance === undefined ? dash : formatYuan(view.balance);

    // A face says how sure it is; a code, a phone number or a payment says how the member was found.
    const byFace = view.confidence !== undefined;
    this.confidenceLine.hidden = !byFace;
    byTestId('popup-confidence').textContent = byFace ? formatPercent(view.confidence!) : '';
    this.source.hidden = byFace;
    this.source.textContent = byFace ? '' : t(`till.via.${view.via}` satisfies MessageKey);
    this.source.dataset.via = view.via;

    const notes = this.notesFor(view.memberId);
    this.badge.hidden = !notes.newMember;
    this.upgrade.hidden = !notes.tierChange;
    if (notes.tierChange) {
      const { to, upgrade } = notes.tierChange;
      this.upgrade.textContent = t(upgrade ? 'till.upgrade' : 'till.tierChange', { tier: to.name });
      this.upgrade.dataset.direction = upgrade ? 'up' : 'down';
    }

    const payment = view.payment;
    // A coupon the payment used is done with, and "再消费¥42升黄金" is stale once they reached it.
    const prompts = (view.prompts ?? []).filter(
      (p) => (p.couponId === undefined || p.couponId !== payment?.coupon?.couponId) && !(p.kind === 'near-tier' && notes.tierChange?.upgrade),
    );
    this.prompts.show(prompts);
    this.card.dataset.rich = String(payment !== undefined || prompts.length > 0);
    this.card.dataset.prompts = String(Math.min(prompts.length, 9));
    this.paymentLine.hidden = !payment;
    this.conflict.hidden = !payment?.faceConflict;
    const couponUsed = byTestId('payment-coupon');
    couponUsed.hidden = !payment?.coupon;
    couponUsed.textContent = payment?.coupon ? t('till.couponUsed', { title: payment.coupon.title, amount: formatYuan(payment.coupon.discountYuan) }) : '';
    if (payment) {
      byTestId('payment-amount').textContent = t('till.paymentAmount', { amount: formatYuan(payment.amount) });
      byTestId('payment-points').textContent = t('till.pointsEarned', { points: formatCount(payment.pointsEarned) });
      this.conflict.textContent = t('till.faceConflict');
    }

    this.avatar.textContent = Array.from(view.name)[0] ?? '';
    if (view.thumbnailUrl) {
      if (this.thumbnail.getAttribute('src') !== view.thumbnailUrl) this.thumbnail.src = view.thumbnailUrl;
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

/** The newer event wins wherever it says something; what it leaves out keeps its earlier value. */
function merge(earlier: CardView, later: CardView): CardView {
  return {
    memberId: later.memberId,
    name: later.name,
    tier: later.tier,
    points: later.points ?? earlier.points,
    balance: later.balance ?? earlier.balance,
    via: later.via,
    confidence: later.confidence ?? earlier.confidence,
    thumbnailUrl: later.thumbnailUrl ?? earlier.thumbnailUrl,
    payment: later.payment ?? earlier.payment,
    prompts: mergePrompts(earlier.prompts ?? [], later.prompts ?? []),
  };
}

/** The earlier prompts and the new ones; one of a kind about one coupon is kept once. */
function mergePrompts(earlier: readonly TillPrompt[], later: readonly TillPrompt[]): TillPrompt[] {
  const key = (p: TillPrompt) => `${p.kind}:${p.couponId ?? ''}`;
  const seen = new Set(earlier.map(key));
  return [...earlier, ...later.filter((p) => !seen.has(key(p)))];
}

function restartAnimation(element: HTMLElement, className: string): void {
  element.classList.remove(className);
  void element.offsetWidth;
  element.classList.add(className);
}
