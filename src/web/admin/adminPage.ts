import { byTestId, h } from '../shared/dom.js';
import { installLanguageSwitch, onLanguageChange, t } from '../shared/i18n.js';
import { AdminApi, type Member } from './adminApi.js';
import { CampaignRulesPanel } from './campaignRulesPanel.js';
import { Feedback } from './feedback.js';
import { LanesPanel } from './lanesPanel.js';
import { MemberDetailPanel } from './memberDetail.js';
import { OperatingPointPanel } from './operatingPointPanel.js';
import { ReviewsPanel } from './reviewsPanel.js';
import { SegmentsPanel } from './segmentsPanel.js';

// sessionStorage, not localStorage: the admin token should not outlive the browser tab on a shared PC.
const TOKEN_KEY = 'memberlens.admin.token';
/** Camera trouble should show up while the admin is looking, without hammering the till PC. */
const LANES_REFRESH_MS = 10_000;

const login = byTestId('login');
const loginForm = byTestId<HTMLFormElement>('login-form');
const loginToken = byTestId<HTMLInputElement>('login-token');
const workspace = byTestId('workspace');
const logoutButton = byTestId<HTMLButtonElement>('logout');
const searchForm = byTestId<HTMLFormElement>('search-form');
const searchInput = byTestId<HTMLInputElement>('search-input');
const memberList = byTestId<HTMLUListElement>('member-list');
const createForm = byTestId<HTMLFormElement>('create-form');
const auditExportButton = byTestId<HTMLButtonElement>('audit-export');

let api: AdminApi | undefined;
let lanesTimer: ReturnType<typeof setInterval> | undefined;

const feedback = new Feedback(() => signOut());
const detail = new MemberDetailPanel(currentApi, feedback, () => void loadMembers());
const lanes = new LanesPanel((list) => detail.setLanes(list));
const reviews = new ReviewsPanel(currentApi, feedback, (memberId) => void openMember(memberId));
const recognition = new OperatingPointPanel(currentApi, feedback);
const segments = new SegmentsPanel(currentApi, feedback, (memberId) => void openMember(memberId));
const rules = new CampaignRulesPanel(currentApi, feedback);

function currentApi(): AdminApi {
  if (!api) throw new Error('Not signed in.');
  return api;
}

async function signIn(token: string): Promise<void> {
  const candidate = new AdminApi(token);
  try {
    // Any admin-only route proves the token; the lanes are needed on screen anyway.
    const laneList = await candidate.lanes();
    api = candidate;
    sessionStorage.setItem(TOKEN_KEY, token);
    login.hidden = true;
    workspace.hidden = false;
    logoutButton.hidden = false;
    auditExportButton.hidden = false;
    loginForm.reset();
    feedback.clear();
    lanes.show(laneList);
    clearInterval(lanesTimer);
    lanesTimer = setInterval(() => void refreshLanes(), LANES_REFRESH_MS);
    await Promise.all([loadMembers(), reviews.refresh(), recognition.refresh(), segments.refresh(), rules.refresh()]);
  } catch (err) {
    showLogin();
    feedback.error(err);
  }
}

function signOut(): void {
  api = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(lanesTimer);
  detail.clear();
  reviews.clear();
  recognition.clear();
  segments.clear();
  rules.clear();
  memberList.replaceChildren();
  showLogin();
  feedback.clear();
}

function showLogin(): void {
  workspace.hidden = true;
  logoutButton.hidden = true;
  auditExportButton.hidden = true;
  login.hidden = false;
  loginToken.focus();
}

async function refreshLanes(): Promise<void> {
  if (!api || document.hidden) return;
  try {
    lanes.show(await api.lanes());
  } catch (err) {
    feedback.error(err);
  }
}

async function loadMembers(): Promise<void> {
  try {
    renderMembers(await currentApi().searchMembers(searchInput.value.trim()));
  } catch (err) {
    feedback.error(err);
  }
}

/** Opens a member from anywhere on the page and marks them in the list when they are in it. */
async function openMember(memberId: string): Promise<void> {
  markSelected(memberId);
  feedback.clear();
  await detail.open(memberId);
}

function markSelected(memberId: string): void {
  for (const item of memberList.querySelectorAll<HTMLElement>('.member-item')) {
    item.classList.toggle('selected', item.dataset.memberId === memberId);
  }
}

/**
 * The processing log needs the admin token, so a plain link cannot fetch it: the page reads
 * it and hands the browser a local copy to save.
 */
async function exportAuditLog(): Promise<void> {
  auditExportButton.disabled = true;
  try {
    const { blob, filename } = await currentApi().exportAudit();
    const url = URL.createObjectURL(blob);
    const link = h('a', { attrs: { href: url, download: filename } });
    document.body.append(link);
    link.click();
    link.remove();
    // The download has taken its own reference by now; a minute is generous for a slow disk.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    feedback.notice([t('admin.audit.exported', { file: filename })]);
  } catch (err) {
    feedback.error(err);
  } finally {
    auditExportButton.disabled = false;
  }
}

function renderMembers(members: Member[]): void {
  byTestId('member-list-empty').hidden = members.length > 0;
  memberList.replaceChildren(
    ...members.map((member) => {
      const item = h('button', { className: 'member-item', testId: 'member-item', attrs: { type: 'button', 'data-member-id': member.id } }, [
        h('span', { className: 'member-name', text: member.name }),
        h('span', { className: 'member-phone', text: member.phone ?? '' }),
      ]);
      if (member.id === detail.shownId) item.classList.add('selected');
      item.addEventListener('click', () => void openMember(member.id));
      return h('li', {}, [item]);
    }),
  );
}

loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void signIn(loginToken.value.trim());
});
logoutButton.addEventListener('click', signOut);
searchForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void loadMembers();
});
createForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const data = new FormData(createForm);
  const name = String(data.get('name') ?? '').trim();
  const phone = String(data.get('phone') ?? '').trim();
  void (async () => {
    try {
      const member = await currentApi().createMember(phone ? { name, phone } : { name });
      createForm.reset();
      feedback.notice([t('admin.created')]);
      searchInput.value = '';
      await detail.open(member.id);
      await loadMembers();
    } catch (err) {
      feedback.error(err);
    }
  })();
});
byTestId('lanes-refresh').addEventListener('click', () => void refreshLanes());
auditExportButton.addEventListener('click', () => void exportAuditLog());

installLanguageSwitch(byTestId<HTMLButtonElement>('lang-switch'));
onLanguageChange(() => {
  detail.render();
  lanes.render();
  reviews.render();
  recognition.render();
  segments.render();
  rules.render();
});

const stored = sessionStorage.getItem(TOKEN_KEY);
if (stored) void signIn(stored);
else showLogin();
