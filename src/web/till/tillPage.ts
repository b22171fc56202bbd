import type { CameraStatus, ScanClassified, ScannerStatus } from '../../push/tillEvents.js';
import { byTestId } from '../shared/dom.js';
import { installLanguageSwitch, onLanguageChange, t, type MessageKey } from '../shared/i18n.js';
import { ConsentDialog } from './consentDialog.js';
import { MemberCard, type CardView } from './memberCard.js';
import { RecentList } from './recentList.js';
import { ScanStatus } from './scanStatus.js';
import { answerConsent, applyCoupon } from './tillApi.js';
import { TillConnection, type ConnectionState } from './tillConnection.js';
import { loadCashier, loadTillSettings, saveCashier, saveTillSettings, type TillSettings } from './tillSettings.js';
import { VisitNotes } from './visitNotes.js';

/** Long enough to glance at, short enough not to pile up while a queue walks past. */
const UNKNOWN_HINT_MS = 5_000;

/** Camera and scanner report the same states. */
const SOURCE_TONE: Record<CameraStatus['state'], 'ok' | 'warn' | 'bad'> = {
  running: 'ok',
  starting: 'warn',
  retrying: 'warn',
  stopped: 'bad',
  failed: 'bad',
};

/** The page's view of the connection, including the time before a lane and token are known. */
type PageConnectionState = ConnectionState | { kind: 'unconfigured' };

const CONNECTION_TONE: Record<PageConnectionState['kind'], 'idle' | 'ok' | 'warn' | 'bad'> = {
  unconfigured: 'idle',
  connected: 'ok',
  connecting: 'warn',
  reconnecting: 'warn',
  refused: 'bad',
  closed: 'bad',
  unavailable: 'bad',
};

const notes = new VisitNotes();
const card = new MemberCard(
  (memberId) => notes.get(memberId),
  (memberId) => notes.forget(memberId),
  (couponId) => (settings ? applyCoupon({ lane: settings.lane, token: settings.token }, couponId) : Promise.reject(new Error(t('conn.unconfigured')))),
);
const recent = new RecentList();
const scanStatus = new ScanStatus();
const consent = new ConsentDialog((request, answer) => {
  // The till token the screen connects with; the request names its own lane.
  if (!settings) return Promise.reject(new Error(t('conn.unconfigured')));
  return answerConsent({ lane: request.lane, token: settings.token, requestId: request.requestId }, { answer, staff: loadCashier() });
});
const connectionStatus = byTestId('connection-status');
const connectionProblem = byTestId('connection-problem');
const cameraStatus = byTestId('camera-status');
const scannerStatus = byTestId('scanner-status');
const unknownHint = byTestId('unknown-hint');
const laneName = byTestId('lane-name');
const setupDialog = byTestId<HTMLDialogElement>('setup-dialog');
const setupForm = byTestId<HTMLFormElement>('setup-form');
const setupLane = byTestId<HTMLInputElement>('setup-lane');
const setupToken = byTestId<HTMLInputElement>('setup-token');
const setupCashier = byTestId<HTMLInputElement>('setup-cashier');

let settings: TillSettings | undefined = loadTillSettings();
let connectionState: PageConnectionState = { kind: 'unconfigured' };
let camera: CameraStatus | undefined;
let scanner: ScannerStatus | undefined;
let unknownTimer: ReturnType<typeof setTimeout> | undefined;

const connection = new TillConnection(
  {
    'member:recognized': (event) => {
      const view: CardView = {
        memberId: event.memberId,
        name: event.name,
        tier: event.tier,
        points: event.points,
        balance: event.balance,
        via: 'face',
        confidence: event.confidence,
        prompts: event.prompts ?? [],
      };
      if (event.thumbnailUrl) view.thumbnailUrl = event.thumbnailUrl;
      supersedeMemberScan(event.memberId);
      card.show(view);
      recent.add(event);
    },
    'scan:classified': (event) => showScan(event),
    'payment:linked': (event) => {
      // The payment concludes whatever the scanner read; its line now says more than the status did.
      scanStatus.hide();
      card.show({
        memberId: event.memberId,
        name: event.name,
        tier: event.tier,
        points: event.points,
        balance: event.balance,
        via: 'payment',
        payment: {
          amount: event.amount,
          pointsEarned: event.pointsEarned,
          faceConflict: event.face === 'conflict',
          ...(event.coupon ? { coupon: event.coupon } : {}),
        },
        prompts: event.prompts ?? [],
      });
      recent.add(event);
    },
    'member:enrolled': (event) => {
      if (event.via === 'face') {
        // The cashier just pressed 同意 (or an admin enrolled the face); one quiet line is enough.
        scanStatus.show('face-enrolled', 'ok', () => t('scan.faceEnrolled', { name: event.name }), event.memberId);
        return;
      }
      notes.markNewMember(event.memberId);
      if (card.showingId === event.memberId) card.render();
      // A brand-new member has no figures worth guessing; the payment that follows fills them in.
      else {
        supersedeMemberScan(event.memberId);
        card.show({ memberId: event.memberId, name: event.name, tier: event.tier, via: 'enrolled' });
      }
    },
    'tier:changed': (event) => {
      notes.markTierChange(event.memberId, event.from, event.to);
      card.updateTier(event.memberId, event.to);
      recent.updateTier(event.memberId, event.to.name);
    },
    'consent:requested': (event) => consent.enqueue(event),
    'member:left': (event) => {
      if (event.memberId) card.hideIfShowing(event.memberId);
    },
    'member:deleted': (event) => {
      card.hideIfShowing(event.memberId);
      recent.removeMember(event.memberId);
      notes.forget(event.memberId);
      consent.drop((request) => request.memberId === event.memberId);
    },
    'face:unknown': () => {
      unknownHint.hidden = false;
      clearTimeout(unknownTimer);
      unknownTimer = setTimeout(() => (unknownHint.hidden = true), UNKNOWN_HINT_MS);
    },
    'camera:status': (event) => {
      camera = event;
      renderCamera();
    },
    'scanner:status': (event) => {
      scanner = event;
      renderScanner();
    },
  },
  (state) => {
    connectionState = state;
    renderConnection();
  },
);

const SCAN_TONE: Record<ScanClassified['kind'], 'info' | 'ok' | 'warn'> = {
  payment: 'info',
  'member-qr': 'ok',
  phone: 'ok',
  rejected: 'warn',
};

/**
 * What the scanner read. A member code, a member's phone number, or the payment code of a
 * payer the service already knows also brings up the member's card, before the payment.
 */
function showScan(event: ScanClassified): void {
  const { kind, memberId, name, tier } = event;
  const member = kind !== 'rejected' && memberId && name && tier ? { memberId, name, tier } : undefined;
  if (kind === 'rejected') {
    const message = event.message;
    scanStatus.show(kind, SCAN_TONE[kind], () => message || t('scan.rejected'));
    return;
  }
  if (kind === 'payment') {
    const channel = event.channel;
    scanStatus.show(
      kind,
      SCAN_TONE[kind],
      () => (channel ? t('scan.payment', { channel: t(`channel.${channel}` satisfies MessageKey) }) : t('scan.paymentNoChannel')),
      member?.memberId,
    );
  } else if (member) {
    scanStatus.show(kind, SCAN_TONE[kind], () => t(`scan.${kind}` satisfies MessageKey, { name: member.name }), member.memberId);
  } else {
    // A phone number that is nobody's: the cashier can offer to sign the customer up.
    scanStatus.show('no-member', 'warn', () => t('scan.noMember'));
  }
  if (!member) return;
  const view: CardView = { ...member, via: kind === 'payment' ? 'payment' : kind, prompts: event.prompts ?? [] };
  if (event.points !== undefined) view.points = event.points;
  if (event.balance !== undefined) view.balance = event.balance;
  card.show(view);
  recent.add({ ...member, at: event.at });
}

/** "会员码 · 李雷" above someone else's card would tell the cashier the wrong name. */
function supersedeMemberScan(memberId: string): void {
  const named = scanStatus.memberId;
  if (named !== undefined && named !== memberId) scanStatus.hide();
}

function renderConnection(): void {
  const state = connectionState;
  const text =
    state.kind === 'refused' ? t('conn.refused', { message: state.message }) : t(`conn.${state.kind}` satisfies MessageKey);
  connectionStatus.textContent = text;
  connectionStatus.title = text;
  connectionStatus.dataset.state = state.kind;
  connectionStatus.dataset.tone = CONNECTION_TONE[state.kind];
  // The header truncates long refusals; the reason and the way out must be readable in full.
  const stuck = state.kind === 'refused' || state.kind === 'closed' || state.kind === 'unavailable';
  connectionProblem.hidden = !stuck;
  connectionProblem.textContent = state.kind === 'refused' ? `${text} ${t('conn.fix')}` : stuck ? text : '';
}

function renderCamera(): void {
  if (!camera) return;
  cameraStatus.textContent = t(`camera.${camera.state}` satisfies MessageKey);
  cameraStatus.dataset.state = camera.state;
  cameraStatus.dataset.tone = SOURCE_TONE[camera.state];
  cameraStatus.title = [camera.detail, `${camera.framesIn} / ${camera.framesDropped}`].filter(Boolean).join(' · ');
}

function renderScanner(): void {
  if (!scanner) return;
  scannerStatus.textContent = t(`scanner.${scanner.state}` satisfies MessageKey);
  scannerStatus.dataset.state = scanner.state;
  scannerStatus.dataset.tone = SOURCE_TONE[scanner.state];
  scannerStatus.title = scanner.detail ?? '';
}

function start(next: TillSettings): void {
  settings = next;
  laneName.textContent = next.lane;
  camera = undefined;
  cameraStatus.dataset.tone = 'idle';
  cameraStatus.textContent = t('camera.unknown');
  scanner = undefined;
  scannerStatus.dataset.tone = 'idle';
  scannerStatus.textContent = t('scanner.unknown');
  card.hide();
  scanStatus.hide();
  // Questions for another lane cannot be answered from this one.
  consent.drop((request) => request.lane !== next.lane);
  connection.connect(next);
}

function openSetup(): void {
  setupLane.value = settings?.lane ?? '';
  setupToken.value = settings?.token ?? '';
  setupCashier.value = loadCashier();
  byTestId('setup-cancel').hidden = !settings;
  setupDialog.showModal();
}

setupForm.addEventListener('submit', () => {
  const next = { lane: setupLane.value.trim(), token: setupToken.value.trim() };
  saveTillSettings(next);
  saveCashier(setupCashier.value);
  start(next);
});
byTestId('setup-cancel').addEventListener('click', () => setupDialog.close());
// Without a lane and token the screen is useless, so Escape must not dismiss the first setup.
setupDialog.addEventListener('cancel', (e) => {
  if (!settings) e.preventDefault();
});
byTestId('settings').addEventListener('click', openSetup);

installLanguageSwitch(byTestId<HTMLButtonElement>('lang-switch'));
onLanguageChange(() => {
  card.render();
  recent.render();
  scanStatus.render();
  consent.render();
  renderConnection();
  renderCamera();
  renderScanner();
});

renderConnection();
if (settings) start(settings);
else openSetup();
