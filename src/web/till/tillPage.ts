import type { CameraStatus } from '../../push/tillEvents.js';
import { byTestId } from '../shared/dom.js';
import { installLanguageSwitch, onLanguageChange, t, type MessageKey } from '../shared/i18n.js';
import { MemberCard } from './memberCard.js';
import { RecentList } from './recentList.js';
import { TillConnection, type ConnectionState } from './tillConnection.js';
import { loadTillSettings, saveTillSettings, type TillSettings } from './tillSettings.js';

/** Long enough to glance at, short enough not to pile up while a queue walks past. */
const UNKNOWN_HINT_MS = 5_000;

const CAMERA_TONE: Record<CameraStatus['state'], 'ok' | 'warn' | 'bad'> = {
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

const card = new MemberCard();
const recent = new RecentList();
const connectionStatus = byTestId('connection-status');
const connectionProblem = byTestId('connection-problem');
const cameraStatus = byTestId('camera-status');
const unknownHint = byTestId('unknown-hint');
const laneName = byTestId('lane-name');
const setupDialog = byTestId<HTMLDialogElement>('setup-dialog');
const setupForm = byTestId<HTMLFormElement>('setup-form');
const setupLane = byTestId<HTMLInputElement>('setup-lane');
const setupToken = byTestId<HTMLInputElement>('setup-token');

let settings: TillSettings | undefined = loadTillSettings();
let connectionState: PageConnectionState = { kind: 'unconfigured' };
let camera: CameraStatus | undefined;
let unknownTimer: ReturnType<typeof setTimeout> | undefined;

const connection = new TillConnection(
  {
    'member:recognized': (event) => {
      card.show(event);
      recent.add(event);
    },
    'member:left': (event) => {
      if (event.memberId) card.hideIfShowing(event.memberId);
    },
    'member:deleted': (event) => {
      card.hideIfShowing(event.memberId);
      recent.removeMember(event.memberId);
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
  },
  (state) => {
    connectionState = state;
    renderConnection();
  },
);

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
  cameraStatus.dataset.tone = CAMERA_TONE[camera.state];
  cameraStatus.title = [camera.detail, `${camera.framesIn} / ${camera.framesDropped}`].filter(Boolean).join(' · ');
}

function start(next: TillSettings): void {
  settings = next;
  laneName.textContent = next.lane;
  camera = undefined;
  cameraStatus.dataset.tone = 'idle';
  cameraStatus.textContent = t('camera.unknown');
  card.hide();
  connection.connect(next);
}

function openSetup(): void {
  setupLane.value = settings?.lane ?? '';
  setupToken.value = settings?.token ?? '';
  byTestId('setup-cancel').hidden = !settings;
  setupDialog.showModal();
}

setupForm.addEventListener('submit', () => {
  const next = { lane: setupLane.value.trim(), token: setupToken.value.trim() };
  saveTillSettings(next);
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
  renderConnection();
  renderCamera();
});

renderConnection();
if (settings) start(settings);
else openSetup();
