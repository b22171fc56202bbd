/** One schema step. `version` is what `PRAGMA user_version` holds once the step is applied. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
