import type { CampaignRules, CampaignSettings, CouponTermsSetting, MembershipSettings } from '../config/settingsSchema.js';
import { campaignRulesSchema } from '../config/settingsSchema.js';
import { UserError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MemberStore } from '../ledger/index.js';
import {
  birthdayCouponPrompt,
  birthdayPointsPrompt,
  birthdayWindow,
  checkInPrompt,
  couponAvailablePrompt,
  couponGivenPrompt,
  daysAway,
  dormancyKey,
  dormantWelcomePrompt,
  nearTierPrompt,
  pointsExpiringPrompt,
  rechargeOfferPrompt,
  referralPrompt,
  visitStreak,
  type CounterPrompt,
} from '../operations/campaigns.js';
import { couponFromTerms, couponStatus, DAY_MS, type CouponRecord } from '../operations/coupons.js';
import type { SegmentService } from './segmentService.js';

/** The rules in force and where they come from, for GET /api/campaigns/rules. */
export interface CampaignRulesView {
  rules: CampaignRules;
  /** chain: the chain's rules, set by its owner at HQ (chainVersion is HQ's version). */
  source: 'settings' | 'saved' | 'chain';
  updatedAt: string | null;
  updatedBy: string | null;
  chainVersion?: number;
}

export interface CampaignServiceDeps {
  store: Pick<MemberStore, 'campaigns' | 'audit' | 'inTransaction' | 'coupons' | 'membership' | 'members' | 'calendar'>;
  /** The member's lifecycle now, for the dormant welcome. */
  segments: Pick<SegmentService, 'recompute'>;
  settings: CampaignSettings;
  /** The store is a branch of a chain (chain.hqUrl set): rules from HQ take precedence over its own. */
  inChain?: boolean;
  /** The recharge bonus rules, for the recharge offer. */
  rechargeBonusRules: MembershipSettings['rechargeBonusRules'];
  log: Logger;
  clock?: () => number;
}

/** How a member was seen at the counter. */
export type SightingVia = 'face' | 'member-qr' | 'phone' | 'payment';

/** What a payment brings to the campaigns, after it committed. */
export interface PaymentFacts {
  memberId: string;
  orderId: string;
  lane: string;
  /** The payment created the member (支付即会员). */
  created: boolean;
  paidFen: number;
  pointsEarned: number;
  /** The member whose QR was scanned at the lane just before a first-time payer paid (老带新). */
  referrerId?: string;
}

/** One member's visit: sightings less than campaigns.visitWindowMs apart. Memory only. */
interface Visit {
  lastSeenMs: number;
  prompts: CounterPrompt[];
}

/** Most coupon-available prompts on one card: the soonest to expire first. */
const MAX_COUPON_PROMPTS = 3;
/** Rule names in campaign_firings. */
const RULE = {
  joinGift: 'join-gift',
  birthday: 'birthday',
  birthdayPoints: 'birthday-points',
  dormantWelcome: 'dormant-welcome',
  spendThreshold: 'spend-threshold',
  referral: 'referral',
  checkIn: 'check-in',
} as const;

/**
 * The one owner of the campaign rules: the settings' defaults, or the rules an admin saved
 * over them (validated by the same schema, kept in the database, audited), and their firing
 * at the counter — a member recognized or scanned (`atCounter`) or a payment (`afterPayment`)
 * — as coupons issued, points awarded and prompts for the till. A rule that gives something
 * fires once per key (recorded in the database); a prompt shows once per visit. No rule fires
 * for a member who opted out of marketing; they still hear of coupons they already hold.
 */
export class CampaignService {
  readonly #clock: () => number;
  #rules: CampaignRulesView | undefined;
  readonly #visits = new Map<string, Visit>();

  constructor(private readonly deps: CampaignServiceDeps) {
    this.#clock = deps.clock ?? Date.now;
  }

  rulesView(): CampaignRulesView {
    this.#rules ??= this.#load();
    return this.#rules;
  }

  rules(): CampaignRules {
    return this.rulesView().rules;
  }

  /**
   * Saves rules over the settings' defaults; they apply from the next sighting on. Refused at
   * a branch of a chain whose owner has set the chain's rules at HQ: they would be overwritten.
   */
  saveRules(rules: CampaignRules, actor: string): CampaignRulesView {
    const { store } = this.deps;
    if (this.deps.inChain && this.chainRulesVersion() > 0) {
      throw new UserError(
        "This store is a branch of a chain whose owner sets the campaign rules at HQ (PUT /api/hq/campaign-rules); they reach every branch with its next sync. Ask the chain's owner to change them there.",
        'chain-campaign-rules',
      );
    }
    const now = this.#clock();
    store.inTransaction(() => {
      store.campaigns.saveRules(rules, actor, now);
      store.audit.record({ actor, action: 'campaign.rules', details: { enabled: enabledRules(rules) } });
    });
    this.#rules = { rules, source: 'saved', updatedAt: new Date(now).toISOString(), updatedBy: actor };
    return this.#rules;
  }

  /** The HQ version of the chain's rules this store applied; 0 when it holds none. */
  chainRulesVersion(): number {
    return this.deps.store.campaigns.savedRules()?.chainVersion ?? 0;
  }

  /**
   * Takes the chain's rules from HQ's feed: checked by the same schema as rules saved here (HQ
   * is trusted with the rules, not with their shape), kept with HQ's version in one statement,
   * audited, and in force for the next sighting. False, and nothing kept, when they do not
   * validate (an HQ newer than this store): the store keeps its rules and asks again next sync.
   */
  applyChainRules(chain: { version: number; rules: unknown; setBy: string }): boolean {
    const parsed = campaignRulesSchema.safeParse(chain.rules);
    if (!parsed.success) {
      this.deps.log.error({ version: chain.version, issues: parsed.error.issues.map((i) => i.path.join('.')) }, "the chain's campaign rules from HQ do not validate here; this store keeps its rules");
      return false;
    }
    const { store } = this.deps;
    const now = this.#clock();
    const actor = `hq:${chain.setBy}`;
    store.inTransaction(() => {
      store.campaigns.saveRules(parsed.data, actor, now, chain.version);
      store.audit.record({ actor, action: 'campaign.rules', details: { enabled: enabledRules(parsed.data), chainVersion: chain.version } });
    });
    this.#rules = { rules: parsed.data, source: 'chain', updatedAt: new Date(now).toISOString(), updatedBy: actor, chainVersion: chain.version };
    this.deps.log.info({ version: chain.version }, "applied the chain's campaign rules from HQ");
    return true;
  }

  /**
   * A member recognized by face or scanned at a lane: counts the day's visit, fires the rules
   * that apply now and returns the prompts not yet shown in this visit.
   */
  atCounter(memberId: string, lane: string, via: SightingVia): CounterPrompt[] {
    const now = this.#clock();
    const visit = this.#visit(memberId, now);
    let fresh: CounterPrompt[];
    try {
      fresh = this.deps.store.inTransaction(() => this.#counterRules(memberId, lane, via, now));
    } catch (err) {
      // A campaign is never a reason for the member's popup not to show.
      this.deps.log.error({ err, memberId }, 'campaign rules failed at the counter; the popup shows without prompts');
      return [];
    }
    // A coupon already prompted this visit is not prompted again under another kind either.
    const shown = new Set(visit.prompts.flatMap((p) => [promptKey(p), ...(p.couponId ? [p.couponId] : [])]));
    const unseen = fresh.filter((p) => !shown.has(promptKey(p)) && !(p.couponId && shown.has(p.couponId)));
    visit.prompts.push(...unseen);
    return unseen;
  }

  /** Every prompt of the member's visit so far, for a till that joins while they stand there. */
  visitPrompts(memberId: string): CounterPrompt[] {
    const visit = this.#visits.get(memberId);
    return visit && visit.lastSeenMs >= this.#clock() - this.deps.settings.visitWindowMs ? [...visit.prompts] : [];
  }

  /** A payment committed: join gift, referral, 满X送券, birthday points, recharge offer. */
  afterPayment(facts: PaymentFacts): CounterPrompt[] {
    try {
      return this.deps.store.inTransaction(() => this.#paymentRules(facts, this.#clock()));
    } catch (err) {
      this.deps.log.error({ err, memberId: facts.memberId }, 'campaign rules failed after a payment; the payment stands');
      return [];
    }
  }

  /** Forgets visits that ended; called by the housekeeping timer so the map stays small. */
  forgetEndedVisits(): number {
    const cutoff = this.#clock() - this.deps.settings.visitWindowMs;
    let forgotten = 0;
    for (const [memberId, visit] of this.#visits) {
      if (visit.lastSeenMs < cutoff) {
        this.#visits.delete(memberId);
        forgotten++;
      }
    }
    return forgotten;
  }

  #visit(memberId: string, now: number): Visit {
    let visit = this.#visits.get(memberId);
    if (!visit || visit.lastSeenMs < now - this.deps.settings.visitWindowMs) {
      visit = { lastSeenMs: now, prompts: [] };
      this.#visits.set(memberId, visit);
    }
    visit.lastSeenMs = now;
    return visit;
  }

  #counterRules(memberId: string, lane: string, via: SightingVia, now: number): CounterPrompt[] {
    const { store } = this.deps;
    const member = store.members.get(memberId);
    const prefs = store.campaigns.preferences(memberId);
    if (!member || !prefs) return [];
    const rules = this.rules();
    const today = store.calendar.dateOf(now);
    // The visit counts whatever the member's marketing choice: it is what happened, not a message.
    store.campaigns.recordVisit(memberId, today, lane, via, now);
    const prompts: CounterPrompt[] = [];
    if (!prefs.marketingOptOut) {
      // 签到 is a visit the member was recognized on (face or their member QR), not a number typed in.
      const checksIn = via === 'face' || via === 'member-qr';
      if (rules.checkIn.enabled && checksIn && store.campaigns.fire(memberId, RULE.checkIn, today, null, now)) {
        if (rules.checkIn.points > 0) store.membership.awardPoints(memberId, rules.checkIn.points, `check-in:${today}`);
        prompts.push(checkInPrompt(visitStreak(store.campaigns.visitDays(memberId, 366), today), rules.checkIn.points));
      }
      if (rules.dormantWelcome.enabled) {
        const segment = this.deps.segments.recompute(memberId);
        const quietSinceMs = segment?.lastPurchaseAtMs ?? member.createdAtMs;
        const key = segment && dormancyKey(segment.lifecycle, quietSinceMs);
        const coupon = key ? this.#fireWithCoupon(memberId, RULE.dormantWelcome, key, rules.dormantWelcome.coupon, now) : undefined;
        if (coupon) prompts.push(dormantWelcomePrompt(daysAway(quietSinceMs, now), coupon));
      }
      const birthday = rules.birthday.enabled && prefs.birthday ? birthdayWindow(prefs.birthday.monthDay, today, rules.birthday.windowDays) : null;
      if (birthday && rules.birthday.reward === 'coupon') {
        const coupon = this.#fireWithCoupon(memberId, RULE.birthday, String(birthday.year), rules.birthday.coupon, now);
        if (coupon) prompts.push(birthdayCouponPrompt(coupon));
      } else if (birthday && !store.campaigns.hasFired(memberId, RULE.birthdayPoints, String(birthday.year))) {
        prompts.push(birthdayPointsPrompt(rules.birthday.pointsMultiplier));
      }
      const next = rules.nearTier.enabled ? store.membership.nextTier(memberId, now) : null;
      if (next && next.spendToGoFen > 0 && next.spendToGoFen <= Math.round(rules.nearTier.withinYuan * 100)) {
        prompts.push(nearTierPrompt(next.name, next.spendToGoFen));
      }
      if (rules.pointsExpiring.enabled) {
        const expiring = store.membership.pointsExpiringWithin(memberId, rules.pointsExpiring.withinDays * DAY_MS, now);
        if (expiring >= rules.pointsExpiring.minPoints) prompts.push(pointsExpiringPrompt(expiring, rules.pointsExpiring.withinDays));
      }
    }
    // Coupons the member holds: the cashier applies one with a tap. Ones just given are prompted above.
    const prompted = new Set(prompts.map((p) => p.couponId));
    const usable = store.coupons
      .forMember(memberId)
      .filter((c) => couponStatus(c, now) === 'available' && !prompted.has(c.couponId))
      .sort((a, b) => a.validUntilMs - b.validUntilMs)
      .slice(0, MAX_COUPON_PROMPTS);
    prompts.push(...usable.map(couponAvailablePrompt));
    return prompts;
  }

  #paymentRules(facts: PaymentFacts, now: number): CounterPrompt[] {
    const { store } = this.deps;
    const prefs = store.campaigns.preferences(facts.memberId);
    if (!prefs || prefs.marketingOptOut) return [];
    const rules = this.rules();
    const prompts: CounterPrompt[] = [];
    if (facts.created && rules.joinGift.enabled) {
      const coupon = this.#fireWithCoupon(facts.memberId, RULE.joinGift, 'join', rules.joinGift.coupon, now);
      if (coupon) prompts.push(couponGivenPrompt({ zh: '新会员礼', en: 'Welcome gift' }, coupon));
    }
    // 老带新: only a payer this payment made a member can be referred, and never by themself.
    const referrerId = facts.referrerId;
    if (facts.created && referrerId !== undefined && referrerId !== facts.memberId && rules.referral.enabled && store.members.get(referrerId)) {
      if (store.campaigns.addReferral(facts.memberId, referrerId, facts.orderId, now)) {
        const coupon = this.#fireWithCoupon(facts.memberId, RULE.referral, 'referee', rules.referral.refereeCoupon, now);
        if (coupon) prompts.push(referralPrompt(coupon));
        if (!store.campaigns.preferences(referrerId)?.marketingOptOut) {
          this.#fireWithCoupon(referrerId, RULE.referral, `referrer:${facts.memberId}`, rules.referral.referrerCoupon, now);
        }
      }
    }
    const threshold = rules.spendThreshold;
    if (threshold.enabled && facts.paidFen >= Math.round(threshold.minOrderYuan * 100)) {
      const coupon = this.#fireWithCoupon(facts.memberId, RULE.spendThreshold, facts.orderId, threshold.coupon, now);
      const minYuan = String(threshold.minOrderYuan);
      if (coupon) prompts.push(couponGivenPrompt({ zh: `满${minYuan}送券`, en: `Spent ¥${minYuan} or more` }, coupon));
    }
    const birthday = rules.birthday.enabled && rules.birthday.reward === 'points-multiplier' && prefs.birthday
      ? birthdayWindow(prefs.birthday.monthDay, store.calendar.dateOf(now), rules.birthday.windowDays)
      : null;
    if (birthday && facts.pointsEarned > 0 && store.campaigns.fire(facts.memberId, RULE.birthdayPoints, String(birthday.year), null, now)) {
      store.membership.awardPoints(facts.memberId, facts.pointsEarned * (rules.birthday.pointsMultiplier - 1), `birthday:${facts.orderId}`);
    }
    const offer = this.#rechargeOffer();
    if (rules.rechargeOffer.enabled && offer && facts.paidFen >= Math.round(rules.rechargeOffer.minPaymentYuan * 100)) {
      if (store.membership.balances(facts.memberId).storedFen === 0) prompts.push(rechargeOfferPrompt(offer.minFen, offer.bonusFen));
    }
    return prompts;
  }

  /** The entry-level recharge bonus (the smallest recharge that earns one), e.g. 充100送10. */
  #rechargeOffer(): { minFen: number; bonusFen: number } | undefined {
    const smallest = [...this.deps.rechargeBonusRules].sort((a, b) => a.minYuan - b.minYuan)[0];
    return smallest && { minFen: Math.round(smallest.minYuan * 100), bonusFen: Math.round(smallest.bonusYuan * 100) };
  }

  /** Issues the rule's coupon the first time the rule fires for the member under `key`; undefined after that. */
  #fireWithCoupon(memberId: string, rule: string, key: string, terms: CouponTermsSetting, now: number): CouponRecord | undefined {
    const { store } = this.deps;
    if (store.campaigns.hasFired(memberId, rule, key)) return undefined;
    const { coupon } = store.coupons.issue({ ...couponFromTerms(terms, now), memberId, source: 'rule', sourceRef: `${rule}:${key}` });
    store.campaigns.fire(memberId, rule, key, coupon.couponId, now);
    return coupon;
  }

  #load(): CampaignRulesView {
    const saved = this.deps.store.campaigns.savedRules();
    if (saved) {
      // Rules saved by an older version may miss a rule added since: its defaults fill in.
      const parsed = campaignRulesSchema.safeParse(saved.rules);
      if (parsed.success) {
        const from = saved.chainVersion === null ? ({ source: 'saved' } as const) : ({ source: 'chain', chainVersion: saved.chainVersion } as const);
        return { rules: parsed.data, ...from, updatedAt: new Date(saved.updatedAtMs).toISOString(), updatedBy: saved.actor };
      }
      this.deps.log.error({ issues: parsed.error.issues.map((i) => i.path.join('.')) }, 'saved campaign rules are invalid; the settings\' rules apply until an admin saves new ones');
    }
    return { rules: this.deps.settings.rules, source: 'settings', updatedAt: null, updatedBy: null };
  }
}

/** Two prompts are the same when they are of one kind about one coupon. */
function promptKey(p: CounterPrompt): string {
  return `${p.kind}:${p.couponId ?? ''}`;
}

function enabledRules(rules: CampaignRules): string[] {
  return Object.entries(rules).filter(([, r]) => r.enabled).map(([name]) => name);
}
