import type { CampaignRules, CampaignSettings } from '../config/settingsSchema.js';
import { campaignRulesSchema } from '../config/settingsSchema.js';
import type { Logger } from '../core/logger.js';
import type { MemberStore } from '../ledger/index.js';

/** The rules in force and where they come from, for GET /api/campaigns/rules. */
export interface CampaignRulesView {
  rules: CampaignRules;
  source: 'settings' | 'saved';
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface CampaignServiceDeps {
  store: Pick<MemberStore, 'campaigns' | 'audit' | 'inTransaction'>;
  settings: CampaignSettings;
  log: Logger;
  clock?: () => number;
}

/**
 * The one owner of the campaign rules: the settings' defaults, or the rules an admin saved
 * over them (validated by the same schema, kept in the database, audited).
 */
export class CampaignService {
  readonly #clock: () => number;
  #rules: CampaignRulesView | undefined;

  constructor(private readonly deps: CampaignServiceDeps) {
    this.#clock = deps.clock ?? Date.now;
  }

  rulesView(): CampaignRulesView {
    this.#rules ??= this.#load();
    return this.#rules;
  }

  rules(): CampaignRules {
    return this.rulesView().rules;
  }

  /** Saves rules over the settings' defaults; they apply from the next sighting on. */
  saveRules(rules: CampaignRules, actor: string): CampaignRulesView {
    const { store } = this.deps;
    const now = this.#clock();
    store.inTransaction(() => {
      store.campaigns.saveRules(rules, actor, now);
      store.audit.record({ actor, action: 'campaign.rules', details: { enabled: enabledRules(rules) } });
    });
    this.#rules = { rules, source: 'saved', updatedAt: new Date(now).toISOString(), updatedBy: actor };
    return this.#rules;
  }

  #load(): CampaignRulesView {
    const saved = this.deps.store.campaigns.savedRules();
    if (saved) {
      // Rules saved by an older version may miss a rule added since: its defaults fill in.
      const parsed = campaignRulesSchema.safeParse(saved.rules);
      if (parsed.success) return { rules: parsed.data, source: 'saved', updatedAt: new Date(saved.updatedAtMs).toISOString(), updatedBy: saved.actor };
      this.deps.log.error({ issues: parsed.error.issues.map((i) => i.path.join('.')) }, 'saved campaign rules are invalid; the settings\' rules apply until an admin saves new ones');
    }
    return { rules: this.deps.settings.rules, source: 'settings', updatedAt: null, updatedBy: null };
  }
}

function enabledRules(rules: CampaignRules): string[] {
  return Object.entries(rules).filter(([, r]) => r.enabled).map(([name]) => name);
}
