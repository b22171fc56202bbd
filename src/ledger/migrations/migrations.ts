import { membersFacesConsentAudit } from './001_members_faces_consent_audit.js';
import { apiTokens } from './002_api_tokens.js';
import { membershipLedger } from './003_membership_ledger.js';
import { auditRetention } from './004_audit_retention.js';
import { auditByAction } from './005_audit_by_action.js';
import { memberSegments } from './006_member_segments.js';
import { couponsCampaigns } from './007_coupons_campaigns.js';
import { importsAndOutboundMessages } from './008_imports_and_outbound_messages.js';
import { analyticsRollups } from './009_analytics_rollups.js';
import { chainOutbox } from './010_chain_outbox.js';
import { chainCampaignRules } from './011_chain_campaign_rules.js';
import { memberMonthAndWeekRollups } from './012_member_month_and_week_rollups.js';
import type { Migration } from './migration.js';

/** Every schema step in order; append only, never edit a step that has shipped. */
export const migrations: readonly Migration[] = [
  membersFacesConsentAudit,
  apiTokens,
  membershipLedger,
  auditRetention,
  auditByAction,
  memberSegments,
  couponsCampaigns,
  importsAndOutboundMessages,
  analyticsRollups,
  chainOutbox,
  chainCampaignRules,
  memberMonthAndWeekRollups,
];
