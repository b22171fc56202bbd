import { byTestId, h } from '../shared/dom.js';
import { formatCount, formatShare, formatYuan, installLanguageSwitch, onLanguageChange, t } from '../shared/i18n.js';
import { AdminApi, type DetailsView, type OverviewView, type Period, type PeriodFigures, type SeriesView } from './adminApi.js';
import {
  ChartPanel,
  couponsOption,
  frequencyOption,
  growthOption,
  heatmapOption,
  lanesOption,
  liabilityOption,
  recencyOption,
  repeatOption,
  rfmOption,
  salesOption,
  segmentName,
  tiersOption,
} from './dashboardCharts.js';
import { Feedback } from './feedback.js';

// The same session key as the member admin page: one sign-in serves both.
const TOKEN_KEY = 'memberlens.admin.token';
const DEFAULT_DAYS = 30;
/** Members listed for a clicked segment; the whole list is GET /api/members.csv. */
const SEGMENT_LIST_LIMIT = 100;
const DAY_MS = 86_400_000;

const login = byTestId('login');
const loginForm = byTestId<HTMLFormElement>('login-form');
const loginToken = byTestId<HTMLInputElement>('login-token');
const dashboard = byTestId('dashboard');
const logoutButton = byTestId<HTMLButtonElement>('logout');
const periodForm = byTestId<HTMLFormElement>('period-form');
const periodFrom = byTestId<HTMLInputElement>('period-from');
const periodTo = byTestId<HTMLInputElement>('period-to');
const segmentPanel = byTestId('segment-panel');
const batchForm = byTestId<HTMLFormElement>('batch-form');

const panel = (name: string, emptyKey: ConstructorParameters<typeof ChartPanel>[1]) => new ChartPanel(byTestId(`chart-${name}`), emptyKey);
const charts = {
  sales: panel('sales', 'dash.sales.empty'),
  growth: panel('growth', 'dash.growth.empty'),
  repeat: panel('repeat', 'dash.repeat.empty'),
  frequency: panel('frequency', 'dash.frequency.empty'),
  rfm: panel('rfm', 'dash.rfm.empty'),
  tiers: panel('tiers', 'dash.tiers.empty'),
  recency: panel('recency', 'dash.recency.empty'),
  coupons: panel('coupons', 'dash.coupons.empty'),
  lanes: panel('lanes', 'dash.lanes.empty'),
  heatmap: panel('heatmap', 'dash.heatmap.empty'),
  liability: panel('liability', 'dash.liability.empty'),
};

let api: AdminApi | undefined;
/** The last answers; `details` (segments, tiers, recency over every member) comes after the KPIs and is slower. */
let shown: { overview: OverviewView; series: SeriesView; details: DetailsView | undefined } | undefined;
let openSegment: string | undefined;
const feedback = new Feedback(() => signOut());

/** `YYYY-MM-DD` of a local calendar day (the till PC keeps the shop's time). */
function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function shiftDate(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The last `days` days, today included. */
function lastDays(days: number): Period {
  const to = shiftDate(localDate(Date.now()), 1);
  return { from: shiftDate(to, -days), to };
}

async function signIn(token: string): Promise<void> {
  const candidate = new AdminApi(token);
  try {
    const period = lastDays(DEFAULT_DAYS);
    // Any admin-only route proves the token; the overview is needed on screen anyway.
    const overview = await candidate.overview(period);
    api = candidate;
    sessionStorage.setItem(TOKEN_KEY, token);
    login.hidden = true;
    dashboard.hidden = false;
    logoutButton.hidden = false;
    loginForm.reset();
    feedback.clear();
    await load(period, overview);
  } catch (err) {
    showLogin();
    feedback.error(err);
  }
}

function signOut(): void {
  api = undefined;
  shown = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  closeSegment();
  showLogin();
  feedback.clear();
}

function showLogin(): void {
  dashboard.hidden = true;
  logoutButton.hidden = true;
  login.hidden = false;
  loginToken.focus();
}

async function load(period: Period, overview?: OverviewView): Promise<void> {
  if (!api) return;
  try {
    const detailsAnswer = api.details(period);
    // Awaited below; when the overview fails first, its failure is the one shown.
    detailsAnswer.catch(() => undefined);
    const [o, series] = await Promise.all([overview ?? api.overview(period), api.series(period)]);
    const showing = { overview: o, series, details: undefined as DetailsView | undefined };
    shown = showing;
    periodFrom.value = period.from;
    periodTo.value = shiftDate(period.to, -1);
    markPreset(period);
    render();
    showing.details = await detailsAnswer;
    // A newer period may have been asked for meanwhile; its answers win.
    if (shown !== showing) return;
    render();
    if (openSegment) await showSegment(openSegment);
  } catch (err) {
    feedback.error(err);
  }
}

function markPreset(period: Period): void {
  for (const button of periodForm.querySelectorAll<HTMLButtonElement>('[data-days]')) {
    const preset = lastDays(Number(button.dataset.days));
    button.setAttribute('aria-pressed', String(preset.from === period.from && preset.to === period.to));
  }
}

/** Everything drawn from the last answers; run again on a language switch. */
function render(): void {
  if (!shown) return;
  const { overview, series, details } = shown;
  byTestId('period-range').textContent = t('dash.period.range', {
    from: overview.from,
    to: shiftDate(overview.to, -1),
    previousFrom: overview.previous.from,
    previousTo: shiftDate(overview.previous.to, -1),
    zone: overview.timeZone,
  });
  renderKpis(overview);
  charts.sales.show(salesOption(series));
  charts.growth.show(growthOption(series));
  charts.repeat.show(repeatOption(series));
  charts.coupons.show(couponsOption(overview));
  const { coupons } = overview;
  byTestId('coupon-sales').textContent =
    coupons.issued + coupons.redeemed > 0
      ? t('dash.coupons.sales', { amount: yuan(coupons.salesFen), rate: coupons.issued > 0 ? formatShare(coupons.redeemed / coupons.issued) : t('dash.kpi.none') })
      : '';
  if (!details) return;
  charts.frequency.show(frequencyOption(details));
  charts.rfm.show(rfmOption(details), (data) => void showSegment((data as { segment: string }).segment));
  charts.tiers.show(tiersOption(details));
  charts.recency.show(recencyOption(details));
  charts.lanes.show(lanesOption(details));
  charts.heatmap.show(heatmapOption(details));
  charts.liability.show(liabilityOption(details));
}

const yuan = (fen: number) => formatYuan(fen / 100);
const share = (value: number | null) => (value === null ? t('dash.kpi.none') : formatShare(value));
const ticket = (fen: number | null) => (fen === null ? t('dash.kpi.none') : yuan(fen));

function renderKpis(o: OverviewView): void {
  const p = o.previous;
  kpi('kpi-member-share', share(o.memberShareOfSales), t('dash.kpi.sales', { total: yuan(o.salesFen.total), members: yuan(o.salesFen.members) }), share(p.memberShareOfSales), o.memberShareOfSales, p.memberShareOfSales);
  kpi('kpi-new-members', formatCount(o.newMembers.total), t('dash.kpi.newByPayment', { count: formatCount(o.newMembers.byPayment) }), formatCount(p.newMembers.total), o.newMembers.total, p.newMembers.total);
  kpi('kpi-active-members', formatCount(o.activeMembers), undefined, formatCount(p.activeMembers), o.activeMembers, p.activeMembers);
  kpi('kpi-repeat-rate', share(o.repeatRate), undefined, share(p.repeatRate), o.repeatRate, p.repeatRate);
  const tickets = (f: PeriodFigures) => `${ticket(f.averageTicketFen.members)} / ${ticket(f.averageTicketFen.nonMembers)}`;
  kpi('kpi-average-ticket', tickets(o), undefined, tickets(p), o.averageTicketFen.members, p.averageTicketFen.members);
}

/** A KPI card: the value, an optional line under it, and last period's value with the direction of change. */
function kpi(testId: string, value: string, sub: string | undefined, previous: string, now: number | null, before: number | null): void {
  const card = byTestId(testId);
  card.querySelector('.value')!.textContent = value;
  if (sub !== undefined) card.querySelector('.sub')!.textContent = sub;
  const line = card.querySelector<HTMLElement>('.previous')!;
  line.textContent = t('dash.kpi.previous', { value: previous });
  line.dataset.trend = now === null || before === null || now === before ? 'same' : now > before ? 'up' : 'down';
}

/** The members of a clicked segment (GET /api/members?rfm=), with the form to send them a coupon batch. */
async function showSegment(segment: string): Promise<void> {
  if (!api || !shown) return;
  openSegment = segment;
  try {
    const members = await api.membersOf({ rfm: segment }, SEGMENT_LIST_LIMIT);
    const count = shown.details?.rfm.find((r) => r.segment === segment)?.members ?? members.length;
    byTestId('segment-title').textContent = t('dash.segment.title', { segment: segmentName(segment), count: formatCount(count) });
    byTestId('segment-empty').hidden = members.length > 0;
    byTestId('segment-members').replaceChildren(...members.map((m) => h('li', { text: m.name, testId: 'segment-member', attrs: { 'data-member-id': m.id } })));
    const more = byTestId('segment-more');
    more.hidden = count <= members.length;
    more.textContent = t('dash.segment.more', { count: formatCount(members.length) });
    segmentPanel.dataset.segment = segment;
    segmentPanel.hidden = false;
    segmentPanel.scrollIntoView({ block: 'nearest' });
  } catch (err) {
    feedback.error(err);
  }
}

function closeSegment(): void {
  openSegment = undefined;
  segmentPanel.hidden = true;
}

async function sendBatch(): Promise<void> {
  if (!api || !openSegment) return;
  const data = new FormData(batchForm);
  const submit = byTestId<HTMLButtonElement>('batch-submit');
  submit.disabled = true;
  try {
    // One id per click: a click sends one batch; the service answers a retried one without issuing twice.
    const batchId = `dash-${openSegment}-${Date.now()}`;
    const answer = await api.issueCouponBatch(batchId, { rfm: openSegment }, {
      title: String(data.get('title') ?? '').trim(),
      amountOffYuan: Number(data.get('amountOffYuan')),
      minSpendYuan: Number(data.get('minSpendYuan')),
      validDays: Number(data.get('validDays')),
    });
    feedback.notice([t('dash.batch.done', { issued: formatCount(answer.issued), skipped: formatCount(answer.skipped), optedOut: formatCount(answer.optedOut) })]);
    await load({ from: periodFrom.value, to: shiftDate(periodTo.value, 1) });
  } catch (err) {
    feedback.error(err);
  } finally {
    submit.disabled = false;
  }
}

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = loginToken.value.trim();
  if (token) void signIn(token);
});
logoutButton.addEventListener('click', () => signOut());
periodForm.addEventListener('click', (event) => {
  const days = (event.target as HTMLElement).closest<HTMLElement>('[data-days]')?.dataset.days;
  if (days) void load(lastDays(Number(days)));
});
periodForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!periodFrom.value || !periodTo.value || periodTo.value < periodFrom.value) {
    feedback.problems([t('dash.period.invalid')]);
    return;
  }
  feedback.clear();
  void load({ from: periodFrom.value, to: shiftDate(periodTo.value, 1) });
});
byTestId('segment-close').addEventListener('click', () => closeSegment());
batchForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void sendBatch();
});
window.addEventListener('resize', () => {
  for (const chart of Object.values(charts)) chart.resize();
});

installLanguageSwitch(byTestId<HTMLButtonElement>('lang-switch'));
onLanguageChange(() => {
  render();
  if (openSegment) void showSegment(openSegment);
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) void signIn(saved);
else showLogin();
