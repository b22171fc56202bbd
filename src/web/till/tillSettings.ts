/**
 * Which lane this screen shows and the till token it connects with. A till is a dedicated
 * screen, so both are remembered in localStorage: an installer opens the link with
 * `?lane=…&token=…` once and a reboot brings the same lane back.
 */

export interface TillSettings {
  lane: string;
  token: string;
}

const LANE_KEY = 'memberlens.till.lane';
const TOKEN_KEY = 'memberlens.till.token';
const CASHIER_KEY = 'memberlens.till.cashier';

/** Who records a consent when nobody has named the cashier on this screen. */
export const DEFAULT_CASHIER = 'till';
/** The service keeps a staff name to this length; longer would be refused. */
export const MAX_CASHIER_LENGTH = 100;

export function loadTillSettings(): TillSettings | undefined {
  const url = new URL(location.href);
  const lane = url.searchParams.get('lane')?.trim() || readStored(LANE_KEY);
  const token = url.searchParams.get('token')?.trim() || readStored(TOKEN_KEY);
  if (url.searchParams.has('token')) {
    // The address bar faces customers on some tills; keep the lane visible, not the token.
    url.searchParams.delete('token');
    history.replaceState(null, '', url);
  }
  if (!lane || !token) return undefined;
  saveTillSettings({ lane, token });
  return { lane, token };
}

export function saveTillSettings(settings: TillSettings): void {
  try {
    localStorage.setItem(LANE_KEY, settings.lane);
    localStorage.setItem(TOKEN_KEY, settings.token);
  } catch {
    // Storage disabled by policy: the till works until the next reload.
  }
}

/** The staff name recorded with a customer's consent answer. */
export function loadCashier(): string {
  return readStored(CASHIER_KEY)?.trim() || DEFAULT_CASHIER;
}

export function saveCashier(name: string): void {
  try {
    localStorage.setItem(CASHIER_KEY, name.trim().slice(0, MAX_CASHIER_LENGTH) || DEFAULT_CASHIER);
  } catch {
    // As above: remembered until the next reload only.
  }
}

function readStored(key: string): string | undefined {
  try {
    return localStorage.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}
