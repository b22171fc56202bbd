/**
 * The campaign rules as decisions on a clock the caller gives: whether a rule applies to a
 * member now, under which key it fires (once per key), and what the cashier says. Pure: the
 * service records firings, issues coupons and awards points.
 *
 * Prompt texts are what a cashier can say aloud, in Chinese with an English version for the
 * till's language switch. They never hold private data: a birthday prompt says "本周生日",
 * never the date; no phone number, no payer id.
 */
import type { TillPrompt } from '../push/tillEvents.js';
import { addDays, daysBetween, type LocalDate } from '../ledger/storeCalendar.js';
import { couponValueText, DAY_MS, yuanText, type CouponRecord } from './coupons.js';

export type CounterPrompt = TillPrompt;

type CouponLike = Pick<CouponRecord, 'couponId' | 'title' | 'amountOffFen' | 'rate'>;

/**
 * Consecutive visit days ending `today`: `days` newest first (the store's local dates), today's
 * included. A day missed ends the streak.
 */
export function visitStreak(days: readonly LocalDate[], today: LocalDate): number {
  let streak = 0;
  let expected = today;
  for (const day of days) {
    if (day > expected) continue;
    if (day !== expected) break;
    streak++;
    expected = addDays(expected, -1);
  }
  return streak;
}

/**
 * Whether `today` (the store's local date) lies within `windowDays` of the birthday
 * `monthDay` ("MM-DD"), and the year the birthday belongs to (the key: once a year). 02-29 is
 * kept on 02-28 in other years.
 */
export function birthdayWindow(monthDay: string, today: LocalDate, windowDays: number): { year: number } | null {
  const year = Number(today.slice(0, 4));
  const [month, day] = monthDay.split('-') as [string, string];
  for (const y of [year - 1, year, year + 1]) {
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const birthday = `${y}-${month}-${month === '02' && day === '29' && !leap ? '28' : day}`;
    if (Math.abs(daysBetween(birthday, today)) <= windowDays) return { year: y };
  }
  return null;
}

/** Dormant or lost: the key is the purchase (or joining) the dormancy started after, so one coupon per dormancy. */
export function dormancyKey(lifecycle: string, quietSinceMs: number): string | null {
  return lifecycle === 'dormant' || lifecycle === 'lost' ? `since:${quietSinceMs}` : null;
}

/** Whole days since the member was last here to buy. */
export function daysAway(quietSinceMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - quietSinceMs) / DAY_MS));
}

// The texts, one function per kind, each taking only what may be shown.

export function dormantWelcomePrompt(days: number, coupon: CouponLike): CounterPrompt {
  const v = couponValueText(coupon);
  return withCoupon({ kind: 'dormant-welcome', message: `${days}天未到店，送您${v.zh}${coupon.title}`, messageEn: `${days} days since the last visit: a ${v.en} welcome-back coupon` }, coupon);
}

export function birthdayCouponPrompt(coupon: CouponLike): CounterPrompt {
  const v = couponValueText(coupon);
  return withCoupon({ kind: 'birthday', message: `本周生日，送您${v.zh}${coupon.title}`, messageEn: `Birthday this week: a ${v.en} birthday coupon` }, coupon);
}

export function birthdayPointsPrompt(multiplier: number): CounterPrompt {
  return { kind: 'birthday', message: `本周生日，今天消费积分${multiplier}倍`, messageEn: `Birthday this week: ${multiplier}× points today` };
}

export function nearTierPrompt(tierName: string, spendToGoFen: number): CounterPrompt {
  const yuan = yuanText(spendToGoFen);
  return { kind: 'near-tier', message: `再消费¥${yuan}升${tierName}`, messageEn: `¥${yuan} more to reach ${tierName}`, amountFen: spendToGoFen };
}

export function pointsExpiringPrompt(points: number, withinDays: number): CounterPrompt {
  return { kind: 'points-expiring', message: `${points}积分将在${withinDays}天内过期，可抵扣使用`, messageEn: `${points} points expire within ${withinDays} days; they can be redeemed now` };
}

export function rechargeOfferPrompt(minFen: number, bonusFen: number): CounterPrompt {
  return {
    kind: 'recharge-offer',
    message: `充${yuanText(minFen)}送${yuanText(bonusFen)}`,
    messageEn: `Top up ¥${yuanText(minFen)}, get ¥${yuanText(bonusFen)} free`,
    amountFen: minFen,
  };
}

export function couponAvailablePrompt(coupon: CouponLike): CounterPrompt {
  const v = couponValueText(coupon);
  return withCoupon({ kind: 'coupon-available', message: `有${v.zh}${coupon.title}可用`, messageEn: `${coupon.title} (${v.en}) can be used` }, coupon);
}

/** A coupon just given for a later visit (join gift, 满X送券): it cannot be used on this order. */
export function couponGivenPrompt(reason: { zh: string; en: string }, coupon: CouponLike): CounterPrompt {
  const v = couponValueText(coupon);
  const prompt: CounterPrompt = { kind: 'coupon-available', message: `${reason.zh}：送您${v.zh}${coupon.title}，下次可用`, messageEn: `${reason.en}: a ${v.en} coupon for the next visit` };
  if (coupon.amountOffFen !== null) prompt.amountFen = coupon.amountOffFen;
  return prompt;
}

export function referralPrompt(coupon: CouponLike): CounterPrompt {
  const v = couponValueText(coupon);
  const prompt: CounterPrompt = { kind: 'referral', message: `好友推荐入会，送您${v.zh}${coupon.title}，下次可用`, messageEn: `Referred by a friend: a ${v.en} coupon for the next visit` };
  if (coupon.amountOffFen !== null) prompt.amountFen = coupon.amountOffFen;
  return prompt;
}

export function checkInPrompt(streak: number, points: number): CounterPrompt {
  const zhPoints = points > 0 ? `，+${points}积分` : '';
  const enPoints = points > 0 ? `, +${points} points` : '';
  return streak > 1
    ? { kind: 'check-in', message: `签到成功，连续${streak}天${zhPoints}`, messageEn: `Checked in: ${streak} days in a row${enPoints}` }
    : { kind: 'check-in', message: `签到成功${zhPoints}`, messageEn: `Checked in${enPoints}` };
}

function withCoupon(prompt: CounterPrompt, coupon: CouponLike): CounterPrompt {
  prompt.couponId = coupon.couponId;
  if (coupon.amountOffFen !== null) prompt.amountFen = coupon.amountOffFen;
  return prompt;
}
