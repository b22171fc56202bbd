import type { Migration } from './migration.js';

// A chain's owner sets the campaign rules at HQ; each branch keeps them in the same one-row
// campaign_rules table as rules saved here, with the HQ version they came as. NULL: rules saved
// at this store (or none from HQ yet). The version is written with the rules in one statement,
// so a branch never holds rules of one version while believing it holds another.
export const chainCampaignRules: Migration = {
  version: 11,
  name: 'chain stores: the version of the chain campaign rules a branch applied',
  sql: `
ALTER TABLE campaign_rules ADD COLUMN chain_version INTEGER;
`,
};
