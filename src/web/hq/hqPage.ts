import { byTestId, h } from '../shared/dom.js';
import { formatCount, formatDateTime, formatShare, formatYuan, installLanguageSwitch, onLanguageChange, t } from '../shared/i18n.js';

// sessionStorage: the owner token should not outlive the browser tab on a shared PC.
const TOKEN_KEY = 'memberlens.hq.token';
/** A branch not heard from for this long is shown as behind (its sync runs every few seconds). */
const STALE_AFTER_MS = 10 * 60_000;

interface StoreFigures {
  storeId: string;
  salesFen: { total: number };
  payments: number;
  buyingMembers: number;
  repeatRate: number | null;
  newMembers: { total: number };
}
interface Period {
  salesFen: { total: number };
  buyingMembers: number;
  repeatRate: number | null;
  newMembers: { total: number };
  stores: StoreFigures[];
}
interface Overview extends Period {
  from: string;
  to: string;
  previous: Period;
}
interface StoreStatus {
  storeId: string;
  revoked: boolean;
  lastSyncAt: string | null;
  backlog: number;
}

const login = byTestId('login');
const loginForm = byTestId<HTMLFormElement>('login-form');
const loginToken = byTestId<HTMLInputElement>('login-token');
const main = byTestId('hq');
const logout = byTestId<HTMLButtonElement>('logout');
const error = byTestId('hq-error');
const periodForm = byTestId<HTMLFormElement>('period-form');
const periodFrom = byTestId<HTMLInputElement>('period-from');
const periodTo = byTestId<HTMLInputElement>('period-to');
const cards = byTestId('chain-cards');
const storesBody = byTestId('stores-body');

let shown: { overview: Overview; stores: StoreStatus[] } | undefined;

async function get<T>(route: string): Promise<T> {
  const res = await fetch(route, { headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}` } });
  const body = (await res.json()) as T & { error?: { message: string } };
  if (res.status === 401) {
    signOut();
    throw new Error(t('hq.error.token'));
  }
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function showError(err: unknown): void {
  error.textContent = err instanceof Error ? err.message : String(err);
  error.hidden = false;
}

function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  shown = undefined;
  main.hidden = true;
  logout.hidden = true;
  login.hidden = false;
}

async function load(): Promise<void> {
  error.hidden = true;
  // The first view asks for HQ's default period (the last 7 days in HQ's time zone) and shows its dates.
  const period = periodFrom.value && periodTo.value ? `?${new URLSearchParams({ from: periodFrom.value, to: periodTo.value })}` : '';
  const [overview, status] = await Promise.all([get<Overview>(`/api/hq/overview${period}`), get<{ stores: StoreStatus[] }>('/api/hq/stores')]);
  periodFrom.value = overview.from;
  periodTo.value = overview.to;
  shown = { overview, stores: status.stores };
  render();
}

function card(label: string, value: string, previous: string, testId: string): HTMLElement {
  return h('div', { className: 'card', testId }, [
    h('div', { className: 'label', text: label }),
    h('div', { className: 'value', text: value }),
    h('div', { className: 'previous', text: t('hq.previous', { value: previous }) }),
  ]);
}

const rate = (r: number | null) => (r === null ? '—' : formatShare(r));

function render(): void {
  if (!shown) return;
  const { overview, stores } = shown;
  const p = overview.previous;
  cards.replaceChildren(
    card(t('hq.card.sales'), formatYuan(overview.salesFen.total / 100), formatYuan(p.salesFen.total / 100), 'card-sales'),
    card(t('hq.card.buying'), formatCount(overview.buyingMembers), formatCount(p.buyingMembers), 'card-buying'),
    card(t('hq.card.repeat'), rate(overview.repeatRate), rate(p.repeatRate), 'card-repeat'),
    card(t('hq.card.newMembers'), formatCount(overview.newMembers.total), formatCount(p.newMembers.total), 'card-new'),
  );
  const now = Date.now();
  storesBody.replaceChildren(
    ...stores.map((s) => {
      const f = overview.stores.find((x) => x.storeId === s.storeId);
      const last = s.lastSyncAt ? new Date(s.lastSyncAt) : undefined;
      const stale = !last || now - last.getTime() > STALE_AFTER_MS;
      const syncText = s.revoked ? t('hq.sync.revoked') : last ? formatDateTime(last) : t('hq.sync.never');
      return h('tr', { testId: `store-${s.storeId}` }, [
        h('td', { text: s.storeId }),
        h('td', { className: 'number', text: formatYuan((f?.salesFen.total ?? 0) / 100) }),
        h('td', { className: 'number', text: formatCount(f?.payments ?? 0) }),
        h('td', { className: 'number', text: formatCount(f?.buyingMembers ?? 0) }),
        h('td', { className: 'number', text: rate(f?.repeatRate ?? null) }),
        h('td', { className: 'number', text: formatCount(f?.newMembers.total ?? 0) }),
        h('td', {}, [h('span', { className: stale ? 'stale' : 'fresh', text: syncText })]),
        h('td', { className: 'number', text: formatCount(s.backlog) }),
      ]);
    }),
  );
}

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, loginToken.value.trim());
  loginToken.value = '';
  login.hidden = true;
  main.hidden = false;
  logout.hidden = false;
  load().catch(showError);
});
periodForm.addEventListener('submit', (event) => {
  event.preventDefault();
  load().catch(showError);
});
logout.addEventListener('click', signOut);
onLanguageChange(render);
installLanguageSwitch(byTestId<HTMLButtonElement>('lang-switch'));

if (sessionStorage.getItem(TOKEN_KEY)) {
  main.hidden = false;
  logout.hidden = false;
  load().catch(showError);
} else {
  login.hidden = false;
}
