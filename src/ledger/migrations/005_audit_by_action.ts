import type { Migration } from './migration.js';

// Every recognition writes a 'match' entry, so the rare actions an admin looks for (reviews)
// sink under thousands of others. This index finds one action's entries newest first without
// reading the rest of the log.
export const auditByAction: Migration = {
  version: 5,
  name: 'audit log: index by action, newest first',
  sql: `
CREATE INDEX audit_log_action ON audit_log (action, id);
`,
};
