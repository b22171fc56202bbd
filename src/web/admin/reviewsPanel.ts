import { byTestId, h } from '../shared/dom.js';
import { formatDateTime, t } from '../shared/i18n.js';
import type { AdminApi, Review } from './adminApi.js';
import type { Feedback } from './feedback.js';
import { RefreshedPanel } from './refreshedPanel.js';

/**
 * Payments where the face at the scanner was recognized as one member while another member
 * paid. The service flags them instead of linking the face; the admin looks at both members
 * and decides (a shared payment code, a family member paying, or a face enrolled to the wrong
 * person).
 */
export class ReviewsPanel extends RefreshedPanel<Review[]> {
  private readonly list = byTestId<HTMLUListElement>('review-list');
  private readonly empty = byTestId('review-empty');

  constructor(
    private readonly api: () => AdminApi,
    feedback: Feedback,
    private readonly openMember: (memberId: string) => void,
  ) {
    super('reviews-refresh', feedback);
  }

  protected fetch(): Promise<Review[]> {
    return this.api().reviews();
  }

  render(): void {
    const reviews = this.data ?? [];
    // Nothing is claimed before the first answer: "no reviews" would be a guess.
    this.empty.hidden = this.data === undefined || reviews.length > 0;
    // Newest first: the service lists the log in its own order, which this page does not rely on.
    const sorted = [...reviews].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    this.list.replaceChildren(...sorted.map((review) => this.item(review)));
  }

  private item(review: Review): HTMLLIElement {
    const at = new Date(review.at);
    const openFace = this.button(t('admin.reviews.openFace'), 'review-open-face', review.faceMemberId);
    const openPayer = this.button(t('admin.reviews.openPayer'), 'review-open-payer', review.payerMemberId);
    return h(
      'li',
      {
        className: 'review-item',
        testId: 'review-item',
        attrs: { 'data-order-id': review.orderId, 'data-face-member-id': review.faceMemberId, 'data-payer-member-id': review.payerMemberId },
      },
      [
        h('span', { className: 'review-facts' }, [
          h('time', { text: Number.isNaN(at.getTime()) ? review.at : formatDateTime(at), testId: 'review-at', attrs: { datetime: review.at } }),
          h('span', { text: review.lane, testId: 'review-lane' }),
          h('span', { text: t('admin.reviews.order', { order: review.orderId }), testId: 'review-order' }),
        ]),
        h('span', { className: 'review-what', testId: 'review-what', text: t('admin.reviews.what', { face: review.faceMemberId, payer: review.payerMemberId }) }),
        h('span', { className: 'review-actions' }, [openFace, openPayer]),
      ],
    );
  }

  private button(label: string, testId: string, memberId: string): HTMLButtonElement {
    const button = h('button', { className: 'small', text: label, testId, attrs: { type: 'button', 'data-member-id': memberId } });
    button.addEventListener('click', () => this.openMember(memberId));
    return button;
  }
}
