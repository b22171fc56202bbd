import type { ConsentRequested } from '../../push/tillEvents.js';
import { byTestId } from '../shared/dom.js';
import { language, setLanguage, t } from '../shared/i18n.js';
import { TillApiError, TillNetworkError, type ConsentAnswer } from './tillApi.js';

/** Smooth enough for a seconds counter and the progress bar. */
const TICK_MS = 250;
/** Long enough to read "已录入" before the dialog gets out of the way. */
const DONE_VISIBLE_MS = 2_500;

interface Pending {
  request: ConsentRequested;
  /** Epoch ms on this till's clock. */
  deadlineMs: number;
  totalMs: number;
}

/** Sends the answer; rejects with TillApiError or TillNetworkError. */
export type SendConsentAnswer = (request: ConsentRequested, answer: ConsentAnswer) => Promise<void>;

/**
 * The question the cashier puts to the customer after a payment: may the face the camera
 * saw be enrolled? Consent is opt-in and separate (PRODUCT.md, privacy rules), so:
 * - nothing is pre-selected and the buttons never take the initial focus — a keyboard-wedge
 *   scanner's Enter or a stray key must not answer for the customer;
 * - no answer is no consent: the dialog closes when the request expires, and Escape closes
 *   it without answering (the service discards the face at expiry);
 * - one request at a time; later ones wait their turn and are dropped if they expire waiting.
 */
export class ConsentDialog {
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private sending = false;
  private done = false;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private doneTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly dialog = byTestId<HTMLDialogElement>('consent-dialog');
  private readonly focusTarget = byTestId('consent-focus');
  private readonly ask = byTestId('consent-ask');
  private readonly timer = byTestId('consent-timer');
  private readonly countdown = byTestId('consent-countdown');
  private readonly progress = byTestId<HTMLProgressElement>('consent-progress');
  private readonly error = byTestId('consent-error');
  private readonly result = byTestId('consent-result');
  private readonly actions = byTestId('consent-actions');
  private readonly agree = byTestId<HTMLButtonElement>('consent-agree');
  private readonly decline = byTestId<HTMLButtonElement>('consent-decline');

  constructor(private readonly send: SendConsentAnswer) {
    this.agree.addEventListener('click', () => void this.answer('granted'));
    this.decline.addEventListener('click', () => void this.answer('declined'));
    byTestId('consent-lang').addEventListener('click', () => setLanguage(language() === 'zh-CN' ? 'en' : 'zh-CN'));
    this.dialog.addEventListener('cancel', (e) => {
      // Escape while the answer is on its way would hide whether it was recorded.
      if (this.sending) e.preventDefault();
    });
    this.dialog.addEventListener('close', () => this.finish());
  }

  /**
   * The deadline is measured on the service's clock (`expiresAt` − `at`) and started on
   * this till's, so a till whose clock is off still counts down the right number of seconds.
   */
  enqueue(request: ConsentRequested): void {
    const totalMs = Date.parse(request.expiresAt) - Date.parse(request.at);
    if (!Number.isFinite(totalMs) || totalMs <= 0) return;
    this.queue.push({ request, deadlineMs: Date.now() + totalMs, totalMs });
    if (!this.current) this.next();
  }

  /** The member was deleted, or the screen switched lanes: their questions go with them. */
  drop(predicate: (request: ConsentRequested) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (predicate(this.queue[i]!.request)) this.queue.splice(i, 1);
    if (this.current && predicate(this.current.request)) this.dialog.close();
  }

  /** Repaints in the current language. */
  render(): void {
    const pending = this.current;
    if (!pending) return;
    this.ask.textContent = t('consent.ask', { name: pending.request.name });
    this.tick();
    if (this.done) this.result.textContent = t('consent.enrolled');
  }

  private next(): void {
    // Requests that expired while waiting behind another are already discarded by the service.
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.deadlineMs <= now) this.queue.shift();
    const pending = this.queue.shift();
    if (!pending) return;
    this.current = pending;
    this.sending = false;
    this.done = false;
    this.dialog.dataset.requestId = pending.request.requestId;
    this.dialog.dataset.memberId = pending.request.memberId;
    this.error.hidden = true;
    this.error.textContent = '';
    this.result.hidden = true;
    this.actions.hidden = false;
    this.timer.hidden = false;
    this.setButtons(true);
    this.progress.max = pending.totalMs;
    this.render();
    this.dialog.showModal();
    this.focusTarget.focus();
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const pending = this.current;
    if (!pending || this.done) return;
    const leftMs = pending.deadlineMs - Date.now();
    if (leftMs <= 0 && !this.sending) {
      this.dialog.close();
      return;
    }
    const seconds = Math.max(0, Math.ceil(leftMs / 1000));
    this.countdown.textContent = t('consent.remaining', { seconds });
    this.countdown.dataset.seconds = String(seconds);
    this.progress.value = Math.max(0, leftMs);
    this.dialog.dataset.urgent = String(seconds <= 10);
  }

  private async answer(answer: ConsentAnswer): Promise<void> {
    const pending = this.current;
    if (!pending || this.sending || this.done) return;
    this.sending = true;
    this.setButtons(false);
    this.error.hidden = true;
    this.result.hidden = false;
    this.result.dataset.state = 'sending';
    this.result.textContent = t('consent.sending');
    try {
      await this.send(pending.request, answer);
    } catch (err) {
      this.sending = false;
      if (this.current !== pending) return;
      this.result.hidden = true;
      this.error.textContent = describe(err);
      this.error.dataset.code = err instanceof TillApiError ? err.code : '';
      this.error.hidden = false;
      // The cashier may try again while the request lives; past it, the next tick closes.
      this.setButtons(true);
      this.tick();
      return;
    }
    this.sending = false;
    if (this.current !== pending) return;
    if (answer === 'declined') {
      this.dialog.close();
      return;
    }
    this.done = true;
    this.actions.hidden = true;
    this.timer.hidden = true;
    this.result.dataset.state = 'done';
    this.result.textContent = t('consent.enrolled');
    this.doneTimer = setTimeout(() => {
      if (this.current === pending) this.dialog.close();
    }, DONE_VISIBLE_MS);
  }

  private setButtons(enabled: boolean): void {
    this.agree.disabled = !enabled;
    this.decline.disabled = !enabled;
  }

  /** Runs on every close — answered, expired, Escape or dropped — and moves to the next request. */
  private finish(): void {
    clearInterval(this.ticker);
    clearTimeout(this.doneTimer);
    this.current = undefined;
    this.sending = false;
    this.done = false;
    delete this.dialog.dataset.requestId;
    delete this.dialog.dataset.memberId;
    this.next();
  }
}

function describe(err: unknown): string {
  if (err instanceof TillApiError) return err.message || t('consent.status', { status: err.status });
  if (err instanceof TillNetworkError) return t('consent.network', { message: err.message });
  console.error(err);
  return err instanceof Error ? err.message : String(err);
}
