import type { SqliteDatabase } from './database.js';
import type { EpochMs } from './types.js';

export interface SavedCampaignRules {
  rules: unknown;
  actor: string;
  updatedAtMs: EpochMs;
  /** The HQ version of the chain's rules; null for rules saved at this store. */
  chainVersion: number | null;
}

export interface MarketingPreferences {
  /** No campaign rule fires and no outbound message goes to a member who opted out. */
  marketingOptOut: boolean;
  /** "MM-DD", only when the member agreed to give it. */
  birthday: { monthDay: string; agreedAtMs: EpochMs } | null;
}

/**
 * SQL for campaigns: the rules an admin saved over the settings, which rule fired for whom
 * under which key, recognized visits per day, referrals, and members' marketing preferences
 * (columns of the member row). The rules live in src/operations/campaigns.ts.
 */
export class CampaignRepository {
  readonly #rules;
  readonly #saveRules;
  readonly #fire;
  readonly #fired;
  readonly #visit;
  readonly #visitDays;
  readonly #referral;
  readonly #referralOf;
  readonly #preferences;
  readonly #setOptOut;
  readonly #setBirthday;

  constructor(db: SqliteDatabase) {
    this.#rules = db.prepare<[], { rules_json: string; actor: string; updated_at_ms: number; chain_version: number | null }>(
      'SELECT rules_json, actor, updated_at_ms, chain_version FROM campaign_rules WHERE id = 1',
    );
    this.#saveRules = db.prepare<[string, string, number, number | null]>(`
      INSERT INTO campaign_rules (id, rules_json, actor, updated_at_ms, chain_version) VALUES (1, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET rules_json = excluded.rules_json, actor = excluded.actor, updated_at_ms = excluded.updated_at_ms,
        chain_version = excluded.chain_version`);
    this.#fire = db.prepare<[string, string, string, string | null, number]>(
      'INSERT OR IGNORE INTO campaign_firings (member_id, rule, fire_key, coupon_id, fired_at_ms) VALUES (?, ?, ?, ?, ?)',
    );
    this.#fired = db.prepare<[string, string, string], { coupon_id: string | null }>(
      'SELECT coupon_id FROM campaign_firings WHERE member_id = ? AND rule = ? AND fire_key = ?',
    );
    this.#visit = db.prepare<[string, string, string, string, number]>('INSERT OR IGNORE INTO visits (member_id, day, lane, via, at_ms) VALUES (?, ?, ?, ?, ?)');
    this.#visitDays = db.prepare<[string, number], { day: string }>('SELECT day FROM visits WHERE member_id = ? ORDER BY day DESC LIMIT ?');
    this.#referral = db.prepare<[string, string, string, number]>(
      'INSERT OR IGNORE INTO referrals (referee_member_id, referrer_member_id, order_id, at_ms) VALUES (?, ?, ?, ?)',
    );
    this.#referralOf = db.prepare<[string], { referrer_member_id: string }>('SELECT referrer_member_id FROM referrals WHERE referee_member_id = ?');
    this.#preferences = db.prepare<[string], { marketing_opt_out: number; birthday_md: string | null; birthday_consent_at_ms: number | null }>(
      'SELECT marketing_opt_out, birthday_md, birthday_consent_at_ms FROM members WHERE id = ?',
    );
    this.#setOptOut = db.prepare<[number, number, string]>('UPDATE members SET marketing_opt_out = ?, updated_at_ms = ? WHERE id = ?');
    this.#setBirthday = db.prepare<[string | null, number | null, number, string]>(
      'UPDATE members SET birthday_md = ?, birthday_consent_at_ms = ?, updated_at_ms = ? WHERE id = ?',
    );
  }

  savedRules(): SavedCampaignRules | undefined {
    const row = this.#rules.get();
    return row && { rules: JSON.parse(row.rules_json), actor: row.actor, updatedAtMs: row.updated_at_ms, chainVersion: row.chain_version };
  }

  /** `chainVersion`: the HQ version of rules from the chain; null for rules saved here. */
  saveRules(rules: unknown, actor: string, nowMs: EpochMs, chainVersion: number | null = null): void {
    this.#saveRules.run(JSON.stringify(rules), actor, nowMs, chainVersion);
  }

  /** Records that `rule` fired for the member under `key`; false when it already had. */
  fire(memberId: string, rule: string, key: string, couponId: string | null, nowMs: EpochMs): boolean {
    return this.#fire.run(memberId, rule, key, couponId, nowMs).changes > 0;
  }

  hasFired(memberId: string, rule: string, key: string): boolean {
    return this.#fired.get(memberId, rule, key) !== undefined;
  }

  /** Counts a visit on `day` (the store's date); false when the member already visited that day. */
  recordVisit(memberId: string, day: string, lane: string, via: string, atMs: EpochMs): boolean {
    return this.#visit.run(memberId, day, lane, via, atMs).changes > 0;
  }

  /** The member's visit days, newest first. */
  visitDays(memberId: string, limit: number): string[] {
    return this.#visitDays.all(memberId, limit).map((r) => r.day);
  }

  /** Records who referred a new member; false when the member was already referred. */
  addReferral(refereeId: string, referrerId: string, orderId: string, atMs: EpochMs): boolean {
    return this.#referral.run(refereeId, referrerId, orderId, atMs).changes > 0;
  }

  referrerOf(refereeId: string): string | undefined {
    return this.#referralOf.get(refereeId)?.referrer_member_id;
  }

  /** Undefined for no such member. */
  preferences(memberId: string): MarketingPreferences | undefined {
    const row = this.#preferences.get(memberId);
    if (!row) return undefined;
    return {
      marketingOptOut: row.marketing_opt_out === 1,
      birthday: row.birthday_md === null || row.birthday_consent_at_ms === null ? null : { monthDay: row.birthday_md, agreedAtMs: row.birthday_consent_at_ms },
    };
  }

  setMarketingOptOut(memberId: string, optOut: boolean, nowMs: EpochMs): boolean {
    return this.#setOptOut.run(optOut ? 1 : 0, nowMs, memberId).changes > 0;
  }

  /** A birthday with the time the member agreed to it, or null to forget it. */
  setBirthday(memberId: string, birthday: { monthDay: string; agreedAtMs: EpochMs } | null, nowMs: EpochMs): boolean {
    return this.#setBirthday.run(birthday?.monthDay ?? null, birthday?.agreedAtMs ?? null, nowMs, memberId).changes > 0;
  }
}
