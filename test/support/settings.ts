import { settingsSchema, type Settings } from '../../src/config/settingsSchema.js';
import type { OpenMemberStoreOptions } from '../../src/ledger/index.js';

/** The settings of a fresh install: the schema's defaults, so no test keeps its own copy of them. */
export const defaultSettings: Settings = settingsSchema.parse({});

/** What `MemberStore.open` takes from settings, picked as the service's openMemberStore does. */
export function storeSettings(settings: Settings = defaultSettings): Pick<OpenMemberStoreOptions, 'membership' | 'maxWritesPerCommit'> {
  return { membership: settings.membership, maxWritesPerCommit: settings.storage.maxWritesPerCommit };
}
