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
import { couponValueText, DAY_MS, yuanText, type CouponRecord } from './coupons.js';

export type CounterPrompt = TillPrompt;

type CouponLike = Pick<CouponRecord, 'couponId' | 'title' | 'amountOffFen' | 'rate'>;

/** The store's calendar date of `ms` (the till PC's time zone), YYYY-MM-DD. */
export function storeDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Days from `day` back to the one before it, by the store's calendar. */
export function previousDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return storeDay(new Date(y, m - 1, d - 1, 12).getTime());
}

/**
 * Consecutive visit days ending today: `days` newest first, today's included. A day missed
 * ends the streak.
 */
export function visitStreak(days: readonly string[], today: string): number {
  let streak = 0;
  let expected = today;
  for (const day of days) {
    if (day > expected) continue;
    if (day !== expected) break;
    streak++;
    expected = previousDay(expected);
  }
  return streak;
}

/**
 * Whether `nowMs` lies within `windowDays` of the birthday `monthDay` ("MM-DD") by the store's
 * calendar, and the year the birthday belongs to (the key: once a year). 02-29 is kept on
 * 02-28 in other years.
 */
export function birthdayWindow(monthDay: string, nowMs: number, windowDays: number): { year: number } | null {
  const [m, d] = monthDay.split('-').map(Number) as [number, number];
  const today = new Date(nowMs);
  const todayNoon = new Date(today.getFullYear(), today.getMonth(), today.getDate(), 12).getTime();
  for (const year of [today.getFullYear() - 1, today.getFullYear(), today.getFullYear() + 1]) {
    const leap = new Date(year, 1, 29).getMonth() === 1;
    const day = m === 2 && d === 29 && !leap ? 28 : d;
    const birthdayNoon = new Date(year, m - 1, day, 12).getTime();
    if (Math.abs(Math.round((todayNoon - birthdayNoon) / DAY_MS)) <= windowDays) return { year };
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

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
