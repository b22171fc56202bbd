import { byTestId } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { ApiError, NetworkError } from './adminApi.js';

/** One line for what went wrong and one for what went right, above everything else on the page. */
export class Feedback {
  private readonly errorLine = byTestId('admin-error');
  private readonly noticeLine = byTestId('admin-notice');

  /** `onUnauthenticated` runs when the service no longer accepts the token, e.g. it was revoked. */
  constructor(private readonly onUnauthenticated: () => void) {}

  error(err: unknown): void {
    if (err instanceof ApiError && err.status === 401) this.onUnauthenticated();
    this.problems([describe(err)]);
    this.errorLine.dataset.code = err instanceof ApiError ? err.code : '';
  }

  problems(lines: string[]): void {
    show(this.errorLine, lines);
    this.errorLine.dataset.code = '';
    this.noticeLine.hidden = true;
  }

  notice(lines: string[]): void {
    show(this.noticeLine, lines);
    this.errorLine.hidden = true;
  }

  clear(): void {
    this.errorLine.hidden = true;
    this.noticeLine.hidden = true;
  }
}

function show(line: HTMLElement, lines: string[]): void {
  line.textContent = lines.join('\n');
  line.hidden = false;
}

/** The service's sentence verbatim when there is one: it names the field or the next step. */
function describe(err: unknown): string {
  if (err instanceof ApiError) return err.message || t('admin.error.status', { status: err.status });
  if (err instanceof NetworkError) return t('admin.error.network', { message: err.message });
  console.error(err);
  return err instanceof Error ? err.message : String(err);
}
