import { settingsSchema, type Settings } from '../../src/config/settingsSchema.js';
import type { OpenMemberStoreOptions } from '../../src/ledger/index.js';

/** The settings of a fresh install: the schema's defaults, so no test keeps its own copy of them. */
export const defaultSettings: Settings = settingsSchema.parse({});

/** What `MemberStore.open` takes from settings, picked as the service's openMemberStore does. */
export function storeSettings(settings: Settings = defaultSettings): Pick<OpenMemberStoreOptions, 'membership' | 'maxWritesPerCommit' | 'timeZone'> {
  return { membership: settings.membership, maxWritesPerCommit: settings.storage.maxWritesPerCommit, timeZone: settings.analytics.timeZone };
}

/** The tier ladder the ledger tests reason about: 普通, 黄金 from ¥2,000, 钻石 from ¥10,000 spent in the window. */
export const TEST_TIERS = [
  { name: '普通', discountRate: 1, minSpendYuan: 0 },
  { name: '黄金', discountRate: 0.95, minSpendYuan: 2000 },
  { name: '钻石', discountRate: 0.9, minSpendYuan: 10_000 },
];
