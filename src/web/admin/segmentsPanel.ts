import { byTestId, h } from '../shared/dom.js';
import { formatCount, t, type MessageKey } from '../shared/i18n.js';
import type { AdminApi, Member, SegmentCounts, SegmentFilter } from './adminApi.js';
import type { Feedback } from './feedback.js';
import { RefreshedPanel } from './refreshedPanel.js';

/** The service's names (src/operations/segments.ts), in the order the owner reads them. */
const LIFECYCLES = ['new', 'active', 'loyal', 'dormant', 'lost'] as const;
const RFM_SEGMENTS = [
  'important-value',
  'important-keep',
  'important-develop',
  'important-retain',
  'general-value',
  'general-keep',
  'general-develop',
  'general-retain',
] as const;
/** Members listed under a chosen segment; the CSV export has them all. */
const LIST_LIMIT = 100;

/**
 * The owner's view of the members by segment: how many are in each lifecycle, RFM segment and
 * tag; the members of the one chosen (by a count or the filter form); and, for that segment, a
 * coupon batch and a message through the shop's own provider. Each action carries an id made
 * when the form is first filled, so a double click or a retry after a lost answer issues nothing
 * twice; a new id comes after each success.
 */
export class SegmentsPanel extends RefreshedPanel<SegmentCounts> {
  private readonly total = byTestId('segments-total');
  private readonly lifecycleChips = byTestId('segments-lifecycle');
  private readonly rfmChips = byTestId('segments-rfm');
  private readonly tagChips = byTestId('segments-tags');
  private readonly tagsEmpty = byTestId('segments-tags-empty');
  private readonly filterForm = byTestId<HTMLFormElement>('segment-filter');
  private readonly lifecycleSelect = byTestId<HTMLSelectElement>('filter-lifecycle');
  private readonly rfmSelect = byTestId<HTMLSelectElement>('filter-rfm');
  private readonly tagInput = byTestId<HTMLInputElement>('filter-tag');
  private readonly summary = byTestId('segment-summary');
  private readonly memberList = byTestId<HTMLUListElement>('segment-members');
  private readonly actions = byTestId('segment-actions');
  private readonly couponForm = byTestId<HTMLFormElement>('coupon-form');
  private readonly messageForm = byTestId<HTMLFormElement>('message-form');
  private readonly messageStatus = byTestId('message-status');
  private shown: { filter: SegmentFilter; members: Member[] } | undefined;
  private batchId = newId('batch');
  private campaignId = newId('msg');
  private lastCampaign: { campaignId: string; counts: Record<string, number> } | undefined;

  constructor(
    private readonly api: () => AdminApi,
    feedback: Feedback,
    private readonly openMember: (memberId: string) => void,
  ) {
    super('segments-refresh', feedback);
    this.filterForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.show({ lifecycle: this.lifecycleSelect.value, rfm: this.rfmSelect.value, tag: this.tagInput.value.trim() });
    });
    this.couponForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.issueCoupons();
    });
    this.messageForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.sendMessage();
    });
    this.messageStatus.addEventListener('click', () => void this.followMessage());
  }

  protected fetch(): Promise<SegmentCounts> {
    return this.api().segmentCounts();
  }

  render(): void {
    const counts = this.data;
    this.total.textContent = counts ? t('admin.segments.total', { n: formatCount(counts.members) }) : '';
    this.lifecycleChips.replaceChildren(...LIFECYCLES.map((name) => this.chip(`segment.lifecycle.${name}`, counts?.lifecycle[name], { lifecycle: name })));
    this.rfmChips.replaceChildren(...RFM_SEGMENTS.map((name) => this.chip(`segment.rfm.${name}`, counts?.rfm[name], { rfm: name })));
    const tags = counts?.tags ?? [];
    this.tagChips.replaceChildren(...tags.map(({ tag, members }) => this.chip(undefined, members, { tag }, tag)));
    this.tagsEmpty.hidden = counts === undefined || tags.length > 0;
    fillSelect(this.lifecycleSelect, LIFECYCLES, 'segment.lifecycle');
    fillSelect(this.rfmSelect, RFM_SEGMENTS, 'segment.rfm');
    this.renderMembers();
    if (this.lastCampaign) this.showDelivery(this.lastCampaign.counts);
  }

  override clear(): void {
    this.shown = undefined;
    this.lastCampaign = undefined;
    this.messageStatus.hidden = true;
    super.clear();
  }

  /** Lists the members of a segment; the actions below apply to exactly that segment. */
  private async show(raw: SegmentFilter): Promise<void> {
    const filter = Object.fromEntries(Object.entries(raw).filter(([, v]) => v)) as SegmentFilter;
    this.lifecycleSelect.value = filter.lifecycle ?? '';
    this.rfmSelect.value = filter.rfm ?? '';
    this.tagInput.value = filter.tag ?? '';
    try {
      const members = await this.api().membersOf(filter, LIST_LIMIT + 1);
      this.shown = { filter, members };
      this.batchId = newId('batch');
      this.campaignId = newId('msg');
      // The delivery line belongs to the segment it was sent to.
      this.lastCampaign = undefined;
      this.messageStatus.hidden = true;
      this.renderMembers();
    } catch (err) {
      this.feedback.error(err);
    }
  }

  private renderMembers(): void {
    const shown = this.shown;
    const hasFilter = shown !== undefined && Object.keys(shown.filter).length > 0;
    // Coupons and messages go to a segment, never to every member by a form left blank.
    this.actions.hidden = !hasFilter;
    if (!shown) {
      this.summary.textContent = '';
      this.memberList.replaceChildren();
      return;
    }
    const listed = shown.members.slice(0, LIST_LIMIT);
    this.summary.textContent = [
      describeFilter(shown.filter),
      shown.members.length > LIST_LIMIT ? t('admin.segments.firstMembers', { n: LIST_LIMIT }) : t('admin.segments.members', { n: formatCount(listed.length) }),
    ].join(' · ');
    this.memberList.replaceChildren(
      ...listed.map((member) => {
        const button = h('button', { className: 'member-item', testId: 'segment-member', attrs: { type: 'button', 'data-member-id': member.id } }, [
          h('span', { className: 'member-name', text: member.name }),
        ]);
        button.addEventListener('click', () => this.openMember(member.id));
        return h('li', {}, [button]);
      }),
    );
  }

  private chip(key: string | undefined, n: number | undefined, filter: SegmentFilter, text?: string): HTMLButtonElement {
    const label = text ?? t(key as MessageKey);
    const chip = h('button', { className: 'chip', testId: 'segment-chip', attrs: { type: 'button', 'data-filter': JSON.stringify(filter) } }, [
      h('span', { className: 'chip-name', text: label }),
      h('span', { className: 'chip-count', text: n === undefined ? '…' : formatCount(n) }),
    ]);
    chip.addEventListener('click', () => void this.show(filter));
    return chip;
  }

  private async issueCoupons(): Promise<void> {
    if (!this.shown) return;
    const data = new FormData(this.couponForm);
    const button = byTestId<HTMLButtonElement>('coupon-submit');
    button.disabled = true;
    try {
      const answer = await this.api().issueCouponBatch(this.batchId, this.shown.filter, {
        title: String(data.get('title')).trim(),
        amountOffYuan: Number(data.get('amountOffYuan')),
        minSpendYuan: Number(data.get('minSpendYuan')),
        validDays: Number(data.get('validDays')),
      });
      this.feedback.notice([t('admin.segments.couponIssued', { issued: formatCount(answer.issued), optedOut: formatCount(answer.optedOut) })]);
      this.batchId = newId('batch');
      this.couponForm.reset();
    } catch (err) {
      this.feedback.error(err);
    } finally {
      button.disabled = false;
    }
  }

  private async sendMessage(): Promise<void> {
    if (!this.shown) return;
    const data = new FormData(this.messageForm);
    const button = byTestId<HTMLButtonElement>('message-submit');
    button.disabled = true;
    try {
      const answer = await this.api().sendMessage(this.campaignId, this.shown.filter, String(data.get('template')).trim(), String(data.get('text')).trim());
      this.lastCampaign = { campaignId: answer.campaignId, counts: answer.counts };
      this.showDelivery(answer.counts);
      this.feedback.notice([t('admin.segments.messageQueued', { n: formatCount(answer.counts.pending) })]);
      this.campaignId = newId('msg');
      this.messageForm.reset();
    } catch (err) {
      this.feedback.error(err);
    } finally {
      button.disabled = false;
    }
  }

  /** Delivery runs in the background; the status button fetches its counts again. */
  private async followMessage(): Promise<void> {
    const campaign = this.lastCampaign;
    if (!campaign) return;
    try {
      campaign.counts = (await this.api().messageCampaign(campaign.campaignId)).counts;
      this.showDelivery(campaign.counts);
    } catch (err) {
      this.feedback.error(err);
    }
  }

  private showDelivery(counts: Record<string, number>): void {
    this.messageStatus.hidden = false;
    this.messageStatus.textContent = t('admin.segments.delivery', {
      pending: formatCount(counts.pending ?? 0),
      sent: formatCount(counts.sent ?? 0),
      failed: formatCount(counts.failed ?? 0),
      optedOut: formatCount(counts['opted-out'] ?? 0),
      noPhone: formatCount(counts['no-phone'] ?? 0),
    });
  }
}

function fillSelect(select: HTMLSelectElement, names: readonly string[], prefix: 'segment.lifecycle' | 'segment.rfm'): void {
  const value = select.value;
  select.replaceChildren(
    h('option', { text: t('admin.segments.any'), attrs: { value: '' } }),
    ...names.map((name) => h('option', { text: t(`${prefix}.${name}` as MessageKey), attrs: { value: name } })),
  );
  select.value = value;
}

function describeFilter(filter: SegmentFilter): string {
  const parts = [
    filter.lifecycle && t(`segment.lifecycle.${filter.lifecycle}` as MessageKey),
    filter.rfm && t(`segment.rfm.${filter.rfm}` as MessageKey),
    filter.tag && t('admin.segments.tagged', { tag: filter.tag }),
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' + ') : t('admin.segments.everyone');
}

/** An id for one coupon batch or campaign: letters, digits and dashes, as the service takes them. */
function newId(prefix: string): string {
  const stamp = new Date().toISOString().slice(0, 10);
  // getRandomValues, not randomUUID: the page may be served over plain http on the shop's network.
  const random = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}-${stamp}-${random}`;
}
