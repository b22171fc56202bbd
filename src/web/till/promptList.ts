import type { TillPrompt } from '../../push/tillEvents.js';
import { byTestId } from '../shared/dom.js';
import { language, t } from '../shared/i18n.js';

/** More would push the figures off a 1024×600 till; the service sends the most useful first. */
const MAX_SHOWN = 3;

type ApplyState = 'applying' | 'applied' | { failed: string };

/**
 * The campaign prompts on the member card: one line each that the cashier can read aloud, and
 * for a coupon a button that applies it to the member's order with one tap (the service holds
 * it for their next payment at this lane).
 */
export class PromptList {
  private prompts: TillPrompt[] = [];
  private readonly states = new Map<string, ApplyState>();
  private readonly list = byTestId<HTMLUListElement>('prompts');

  constructor(private readonly apply: (couponId: string) => Promise<void>) {}

  /** The visit's prompts (the card merges them across events); a coupon used by a payment leaves. */
  show(prompts: readonly TillPrompt[]): void {
    this.prompts = [...prompts];
    this.render();
  }

  /** A new member on the card: what the last one applied is theirs, not this one's. */
  clear(): void {
    this.prompts = [];
    this.states.clear();
    this.render();
  }

  render(): void {
    const shown = this.prompts.slice(0, MAX_SHOWN);
    this.list.hidden = shown.length === 0;
    this.list.replaceChildren(...shown.map((prompt) => this.item(prompt)));
  }

  private item(prompt: TillPrompt): HTMLLIElement {
    const li = document.createElement('li');
    li.dataset.kind = prompt.kind;
    li.dataset.testid = 'prompt';
    const text = document.createElement('span');
    text.className = 'prompt-text';
    text.textContent = language() === 'en' ? prompt.messageEn : prompt.message;
    li.append(text);
    const couponId = prompt.couponId;
    if (couponId === undefined) return li;
    li.dataset.couponId = couponId;
    const state = this.states.get(couponId);
    if (state === 'applied') {
      li.dataset.applied = 'true';
      li.append(note(t('prompt.applied'), 'prompt-applied'));
    } else {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'apply';
      button.dataset.testid = 'apply-coupon';
      button.textContent = state === 'applying' ? t('prompt.applying') : t('prompt.apply');
      button.disabled = state === 'applying';
      button.addEventListener('click', () => void this.applyCoupon(couponId));
      li.append(button);
      if (state && typeof state === 'object') li.append(note(state.failed || t('prompt.applyFailed'), 'prompt-failed'));
    }
    return li;
  }

  private async applyCoupon(couponId: string): Promise<void> {
    this.states.set(couponId, 'applying');
    this.render();
    try {
      await this.apply(couponId);
      this.states.set(couponId, 'applied');
    } catch (err) {
      // The service's sentence (expired, already used) tells the cashier what happened.
      this.states.set(couponId, { failed: err instanceof Error ? err.message : '' });
    }
    this.render();
  }
}

function note(text: string, className: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  return span;
}
