// The ledger's public surface; other rooms import from here and never from better-sqlite3.
export { MemberStore } from './memberStore.js';
export type {
  EnrolledMember,
  EnrollMemberInput,
  FaceConsentInput,
  MemberDeletion,
  NewFaceInput,
  OpenMemberStoreOptions,
} from './memberStore.js';
export type { MemberRepository, CreateMemberInput, ListMembersQuery } from './memberRepository.js';
export type { FaceRepository, AddFaceInput } from './faceRepository.js';
export type { ConsentRepository, ConsentWithdrawal, GrantConsentInput } from './consentRepository.js';
export type { AuditLog, AuditListQuery, AuditPageQuery, AuditRecordInput } from './auditLog.js';
export { AUDIT_CSV_HEADER, auditCsvRow, csvField } from './auditExport.js';
export { loadFaceKey, FACE_KEY_ENV, type LoadFaceKeyOptions } from './faceKey.js';
export { LedgerError, type LedgerErrorCode } from './ledgerErrors.js';
export type * from './types.js';
export type {
  MembershipLedger,
  MemberSummary,
  RecordPaymentInput,
  PaymentResult,
  RecordCashSaleInput,
  CashSaleResult,
  RecordRefundInput,
  RefundResult,
  RechargeInput,
  RechargeResult,
  DeductInput,
  DeductResult,
  RedeemResult,
  PointsExpiry,
  BalanceCheck,
  TierChange,
} from './membershipLedger.js';
export type { LedgerEntry, LedgerEntryKind, MemberBalances } from './membershipRepository.js';
export { derivePayerKeySecret, PayerIdentity } from './payerIdentity.js';
export { PAYMENT_CHANNELS, type PaymentChannel } from './paymentChannels.js';
export type { TierSetting, RechargeTierRule } from './tierRules.js';
export type { RechargeBonusRule, DeductConfirmation, DeductConfirmationMethod } from './storedValue.js';
export { TokenRepository, ROLES, type Role, type ApiToken, type IssuedToken } from './tokenRepository.js';
export { backupFileName, listBackups, restoreBackup, rotateBackups, verifyBackup } from './backups.js';
export type { MigrationBackup, MigrationBackupOptions } from './database.js';
export type { InactiveMember } from './memberActivity.js';
export type { NewMemberSource, RollupRepository } from './rollupRepository.js';
export type { AnalyticsQueries, DaySums, DayRow, MemberPeriodFigures, LaneSums, RecencyCounts } from './analyticsQueries.js';
export { StoreCalendar, addDays, daysBetween, weekdayOf, type LocalDate, type LocalMoment } from './storeCalendar.js';
export type {
  SegmentRepository,
  MemberPurchaseFacts,
  FactWindows,
  StoredSegment,
  SegmentExportRow,
  SegmentFilter,
  SegmentCounts,
} from './segmentRepository.js';
export { MESSAGE_STATUSES, type MessageStatus, type OutboundCampaign, type OutboundMessage, type OutboundMessageRepository } from './outboundMessageRepository.js';
export type { ChainApplyOutcome, ChainEventKind, ChainFeedEvent, EntryBody, OutboxEvent, ChainReplica } from './chainReplica.js';
export type { NewCoupon, CouponBatchRow } from './couponRepository.js';
export type { CouponLedger, AppliedCoupon, CouponBatchInput, CouponBatchResult } from './couponLedger.js';
export type { CampaignRepository, MarketingPreferences, SavedCampaignRules } from './campaignRepository.js';
