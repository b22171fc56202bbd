import type { TierView } from '../../push/tillEvents.js';
import type { CardNotes } from './memberCard.js';

/**
 * A visit ends when the member's card goes away (the page then forgets their notes); this
 * is the backstop for notes about a member whose card never showed.
 */
const NOTE_TTL_MS = 2 * 60_000;
/** Bounded like the event dedup: more members than a lane sees in minutes. */
const MAX_MEMBERS = 200;

interface Notes {
  newMemberAtMs?: number;
  tierChange?: { to: TierView; upgrade: boolean; atMs: number };
}

/**
 * `member:enrolled` and `tier:changed` arrive as their own events, before or after the
 * payment that caused them. They are kept here for a visit's length so the card shows the
 * badge and the upgrade line whichever event came first.
 */
export class VisitNotes {
  private readonly notes = new Map<string, Notes>();

  markNewMember(memberId: string): void {
    this.update(memberId, { newMemberAtMs: Date.now() });
  }

  markTierChange(memberId: string, from: TierView, to: TierView): void {
    // Tiers are merchant-defined and carry no rank; a smaller price multiplier is the best
    // sign of a better tier. Equal rates (a tier with other perks) count as an upgrade,
    // because downgrades happen at period end, not at the till.
    this.update(memberId, { tierChange: { to, upgrade: to.discountRate <= from.discountRate, atMs: Date.now() } });
  }

  forget(memberId: string): void {
    this.notes.delete(memberId);
  }

  get(memberId: string): CardNotes {
    const notes = this.notes.get(memberId);
    const now = Date.now();
    const fresh = (atMs: number | undefined): boolean => atMs !== undefined && now - atMs < NOTE_TTL_MS;
    const change = notes?.tierChange;
    return {
      newMember: fresh(notes?.newMemberAtMs),
      ...(change && fresh(change.atMs) ? { tierChange: { to: change.to, upgrade: change.upgrade } } : {}),
    };
  }

  private update(memberId: string, patch: Notes): void {
    const merged = { ...this.notes.get(memberId), ...patch };
    // Re-inserting moves the member to the end, so the first key is always the stalest.
    this.notes.delete(memberId);
    this.notes.set(memberId, merged);
    if (this.notes.size > MAX_MEMBERS) {
      const oldest = this.notes.keys().next().value;
      if (oldest !== undefined) this.notes.delete(oldest);
    }
  }
}
