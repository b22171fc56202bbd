import { byTestId, h } from '../shared/dom.js';
import { formatTime, formatYuan } from '../shared/i18n.js';

/** A shift's worth at a glance; older entries are of no use at the till. */
const MAX_ENTRIES = 30;

interface Entry {
  memberId: string;
  name: string;
  tierName: string;
  at: Date;
  /** Yuan, for a visit that ended in a linked payment. */
  amount?: number;
}

/** One visit as the page reports it: a face, a scanned member code or phone number, or a payment. */
export interface RecentVisit {
  memberId: string;
  name: string;
  tier: { name: string };
  /** ISO time from the service's event. */
  at: string;
  amount?: number;
}

/** Who was recognized recently, newest first, so a cashier can recall a member after the card hid. */
export class RecentList {
  private entries: Entry[] = [];
  private readonly list = byTestId<HTMLOListElement>('recent-list');
  private readonly empty = byTestId('recent-empty');

  add(visit: RecentVisit): void {
    const entry: Entry = { memberId: visit.memberId, name: visit.name, tierName: visit.tier.name, at: parseTime(visit.at) };
    const top = this.entries[0];
    // The same person standing at the till is one visit, not a column of repeats; their
    // payment stays on the line when a later sighting of them refreshes it.
    const amount = visit.amount ?? (top?.memberId === entry.memberId ? top.amount : undefined);
    if (amount !== undefined) entry.amount = amount;
    if (top?.memberId === entry.memberId) this.entries[0] = entry;
    else this.entries.unshift(entry);
    this.entries.length = Math.min(this.entries.length, MAX_ENTRIES);
    this.render();
  }

  /** A tier change shows on the member's latest line, the one a cashier would look at. */
  updateTier(memberId: string, tierName: string): void {
    const entry = this.entries.find((e) => e.memberId === memberId);
    if (!entry) return;
    entry.tierName = tierName;
    this.render();
  }

  removeMember(memberId: string): void {
    // Removing someone can leave two visits of the same member side by side; keep the newer.
    this.entries = this.entries
      .filter((e) => e.memberId !== memberId)
      .filter((e, i, kept) => kept[i - 1]?.memberId !== e.memberId);
    this.render();
  }

  render(): void {
    this.list.replaceChildren(
      ...this.entries.map((e) =>
        h('li', { testId: 'recent-item', attrs: { 'data-member-id': e.memberId } }, [
          h('time', { className: 'when', text: formatTime(e.at), attrs: { datetime: e.at.toISOString() } }),
          h('span', { className: 'who', text: e.name }),
          h('span', { className: 'tier', text: e.tierName }),
          h('span', { className: 'amount', text: e.amount === undefined ? '' : formatYuan(e.amount) }),
        ]),
      ),
    );
    this.empty.hidden = this.entries.length > 0;
  }
}

/** The service's clock stamps events; a malformed stamp falls back to the till's own clock. */
function parseTime(iso: string): Date {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? new Date() : at;
}
