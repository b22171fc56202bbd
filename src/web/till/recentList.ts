import type { MemberRecognized } from '../../push/tillEvents.js';
import { byTestId, h } from '../shared/dom.js';
import { formatTime } from '../shared/i18n.js';

/** A shift's worth at a glance; older entries are of no use at the till. */
const MAX_ENTRIES = 30;

interface Entry {
  memberId: string;
  name: string;
  tierName: string;
  at: Date;
}

/** Who was recognized recently, newest first, so a cashier can recall a member after the card hid. */
export class RecentList {
  private entries: Entry[] = [];
  private readonly list = byTestId<HTMLOListElement>('recent-list');
  private readonly empty = byTestId('recent-empty');

  add(event: MemberRecognized): void {
    const entry: Entry = { memberId: event.memberId, name: event.name, tierName: event.tier.name, at: parseTime(event.at) };
    // The same person standing at the till is one visit, not a column of repeats.
    if (this.entries[0]?.memberId === entry.memberId) this.entries[0] = entry;
    else this.entries.unshift(entry);
    this.entries.length = Math.min(this.entries.length, MAX_ENTRIES);
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
