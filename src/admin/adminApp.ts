import path from 'node:path';
import express, { type Express, type Request, type Router } from 'express';
import helmet from 'helmet';
import multer from 'multer';
import { z } from 'zod';
import type { Logger } from '../core/logger.js';
import type { MemberStore } from '../ledger/index.js';
import type { LaneDirectory } from '../lanes/laneDirectory.js';
import type { EnrollmentImage, FaceConsent } from '../matching/enrollment.js';
import type { FaceCoverageService } from '../services/faceCoverage.js';
import type { MemberService } from '../services/memberService.js';
import type { OperatingPointView } from '../services/recognitionHealth.js';
import type { AnalyticsService } from '../services/analyticsService.js';
import type { MessageService } from '../services/messageService.js';
import type { CampaignService } from '../services/campaignService.js';
import type { CouponService } from '../services/couponService.js';
import type { SegmentService } from '../services/segmentService.js';
import { analyticsRoutes } from './analyticsRoutes.js';
import { auditRoutes } from './auditRoutes.js';
import { campaignRoutes, marketingView } from './campaignRoutes.js';
import { actorOf, routeGuard, type TokenVerifier } from './authentication.js';
import { HttpError, errorHandler } from './httpErrors.js';
import { shedWhenBusy, type LoadShedding } from './loadShedding.js';
import { recordAdminLogins } from './loginAudit.js';
import { messageRoutes } from './messageRoutes.js';
import { perMinuteLimit } from './rateLimits.js';
import { recognitionRoutes } from './recognitionRoutes.js';
import { chainConsentInput, consentFields, fromLaneInput, listQuery, memberInput } from './requestSchemas.js';
import { assertRoutesDeclared } from './routeRoles.js';
import { segmentRoutes } from './segmentRoutes.js';

export interface AdminAppDeps {
  log: Logger;
  /** Scans, payments and consent answers; mounted beside the member routes. */
  checkoutRoutes: Router;
  verifyToken: TokenVerifier;
  /** Reads; every change to members, faces and consent goes through `members`. */
  store: MemberStore;
  members: MemberService;
  /** Whether a member's enrolled faces are enough to name them. */
  faceCoverage: Pick<FaceCoverageService, 'faceCoverage'>;
  /** The match thresholds now and the member visits left unknown, for the admin page. */
  recognition: () => OperatingPointView;
  /** Members' lifecycle, RFM segment and tags. */
  segments: SegmentService;
  /** The owner's dashboard figures; `maxPeriodDays` bounds the range a request may ask for. */
  analytics: { service: AnalyticsService; maxPeriodDays: number };
  /** Messages to a segment through the shop's provider. */
  messages: MessageService;
  coupons: CouponService;
  campaigns: CampaignService;
  lanes: LaneDirectory;
  health: () => Record<string, unknown>;
  metrics: () => Promise<{ contentType: string; body: string }>;
  webDir: string;
  limits: { jsonBodyBytes: number; imageBodyBytes: number };
  security: SecuritySettings;
  loadShedding: LoadShedding;
}

/** The `security` settings the HTTP layer applies. */
export interface SecuritySettings {
  enrollPerMinute: number;
  pushedFramesPerMinute: number;
  loginAuditWindowMs: number;
  auditRetentionDays: number;
  inactiveMemberDays: number;
}

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'];

/**
 * The REST API and the static pages, as an express app that does not listen: the caller
 * owns the HTTP server (Socket.IO shares it). Every route validates its input, then calls a
 * service; nothing here touches SQL or the face networks directly.
 */
export function createAdminApp(deps: AdminAppDeps): Express {
  const { store, members, lanes, verifyToken } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: { 'script-src': ["'self'"], 'img-src': ["'self'", 'data:', 'blob:'], 'connect-src': ["'self'", 'ws:', 'wss:'] },
      },
    }),
  );

  // Roles per route come from ROUTE_ROLES; a route missing there fails the check at the end.
  const allow = routeGuard(verifyToken);
  // Both run face detection and description on the shared inference workers.
  const enrollLimit = perMinuteLimit({ what: 'face enrollments', perMinute: deps.security.enrollPerMinute, setting: 'security.enrollPerMinute' });
  const frameLimit = perMinuteLimit({
    what: 'pushed frames for this lane',
    perMinute: deps.security.pushedFramesPerMinute,
    setting: 'security.pushedFramesPerMinute',
    scope: (req) => `lane:${req.params.lane as string}`,
  });
  const shedFrames = shedWhenBusy(deps.loadShedding, 'pushed frames');
  const shedUploads = shedWhenBusy(deps.loadShedding, 'photo uploads');
  const json = express.json({ limit: deps.limits.jsonBodyBytes, strict: true });
  const rawImage = express.raw({ type: IMAGE_TYPES, limit: deps.limits.imageBodyBytes });
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: deps.limits.imageBodyBytes, files: 5, fields: 10 } });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...deps.health() });
  });

  app.use(recordAdminLogins({ verify: verifyToken, audit: store.audit, windowMs: deps.security.loginAuditWindowMs }));

  app.get('/metrics', allow('GET /metrics'), async (_req, res) => {
    const { contentType, body } = await deps.metrics();
    res.type(contentType).send(body);
  });

  app.post('/api/members', allow('POST /api/members'), json, (req, res) => {
    const input = memberInput.parse(req.body);
    res.status(201).json(members.createMember({ actor: actorOf(req), name: input.name, phone: input.phone ?? null, source: 'admin' }));
  });

  app.get('/api/members', allow('GET /api/members'), (req, res) => {
    const { query, limit, offset, lifecycle, rfm, tag } = listQuery.parse(req.query);
    // Members who joined since the last full pass have no stored segment yet.
    if (lifecycle !== undefined || rfm !== undefined) deps.segments.fillMissing();
    res.json({ members: store.members.list({ query, limit, offset, lifecycle, rfm, tag }), limit, offset });
  });

  // Before /api/members/:id, which would otherwise take "inactive" for a member id.
  app.get('/api/members/inactive', allow('GET /api/members/inactive'), (req, res) => {
    const { limit } = listQuery.parse(req.query);
    const days = deps.security.inactiveMemberDays;
    const members = store.activity.inactiveSince(Date.now() - days * 86_400_000, limit);
    res.json({ inactiveDays: days, members: members.map((m) => ({ ...m, lastActiveAt: new Date(m.lastActiveAtMs).toISOString() })) });
  });

  app.get('/api/members/:id', allow('GET /api/members/:id'), (req, res) => {
    const member = store.members.get(req.params.id as string);
    if (!member) throw notFound(req.params.id as string);
    res.json({
      ...member,
      membership: store.membership.memberSummary(member.id),
      faces: store.faces.listForMember(member.id),
      faceConsent: store.consents.activeFaceConsent(member.id) ?? null,
      faceCoverage: deps.faceCoverage.faceCoverage(member.id),
      segment: deps.segments.segmentOf(member.id) ?? null,
      marketing: marketingView(store.campaigns.preferences(member.id)!),
    });
  });

  app.delete('/api/members/:id', allow('DELETE /api/members/:id'), (req, res) => {
    const id = req.params.id as string;
    if (!members.deleteMember(id, actorOf(req))) throw notFound(id);
    res.status(204).end();
  });

  app.post('/api/members/:id/faces', allow('POST /api/members/:id/faces'), shedUploads, enrollLimit, rawImage, upload.array('photo', 5), json, async (req, res) => {
    const memberId = req.params.id as string;
    if (!store.members.get(memberId)) throw notFound(memberId);
    const { images, fields } = imagesOf(req, lanes);
    const consent: FaceConsent | undefined = fields.consentMethod
      ? { method: fields.consentMethod, staff: fields.staff ?? actorOf(req), lane: fields.lane ?? null }
      : undefined;
    const result = await members.addFaces({ memberId, consent, images, source: 'admin-upload', actor: actorOf(req) });
    res.status(result.faces.length > 0 ? 201 : 422).json({ faces: result.faces, rejected: result.rejected });
  });

  app.delete('/api/members/:id/faces/:faceId', allow('DELETE /api/members/:id/faces/:faceId'), (req, res) => {
    const { id, faceId } = req.params as { id: string; faceId: string };
    if (!members.deleteFace(id, faceId, actorOf(req))) throw new HttpError(404, `Member ${id} has no face ${faceId}.`, 'face-not-found');
    res.status(204).end();
  });

  // Withdrawing face consent deletes the member's face data at once; the member and their ledger stay.
  app.delete('/api/members/:id/consent', allow('DELETE /api/members/:id/consent'), (req, res) => {
    const id = req.params.id as string;
    if (!store.members.get(id)) throw notFound(id);
    const deletedFaces = members.withdrawFaceConsent(id, actorOf(req));
    res.json({ memberId: id, deletedFaces });
  });

  // Chain stores: the member agrees to be recognized by face at every branch (after this store's face consent).
  app.post('/api/members/:id/chain-consent', allow('POST /api/members/:id/chain-consent'), json, (req, res) => {
    const input = chainConsentInput.parse(req.body);
    const result = members.grantChainFaceConsent(req.params.id as string, { method: input.method, staff: input.staff, lane: input.lane ?? null }, actorOf(req));
    res.status(201).json({ memberId: req.params.id, consent: result.consent, sharedFaces: result.sharedFaces });
  });

  app.use(deps.checkoutRoutes);
  app.use(auditRoutes({ store, allow, auditRetentionDays: deps.security.auditRetentionDays }));
  app.use(recognitionRoutes({ allow, recognition: deps.recognition }));
  app.use(segmentRoutes({ allow, segments: deps.segments, json }));
  app.use(analyticsRoutes({ allow, analytics: deps.analytics.service, maxPeriodDays: deps.analytics.maxPeriodDays }));
  app.use(messageRoutes({ allow, messages: deps.messages, json }));
  app.use(campaignRoutes({ allow, json, coupons: deps.coupons, campaigns: deps.campaigns, members }));

  app.get('/api/lanes', allow('GET /api/lanes'), (_req, res) => {
    res.json({ lanes: lanes.list() });
  });

  app.post('/api/lanes/:lane/frames', allow('POST /api/lanes/:lane/frames'), shedFrames, frameLimit, rawImage, (req, res) => {
    const lane = req.params.lane as string;
    if (!lanes.has(lane)) throw new HttpError(404, `No lane "${lane}"; known lanes: ${lanes.list().map((l) => l.id).join(', ')}.`, 'lane-not-found');
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
      throw new HttpError(415, 'Send the frame as the body with Content-Type image/jpeg, image/png or image/webp.', 'unsupported-media-type');
    }
    if (!lanes.pushFrame(lane, req.body)) {
      throw new HttpError(409, `Lane "${lane}" reads its own camera; set its camera kind to "http-push" to push frames.`, 'lane-not-push');
    }
    res.status(202).json({ accepted: true });
  });

  app.use('/till', express.static(path.join(deps.webDir, 'till'), { index: 'index.html' }));
  app.use('/admin', express.static(path.join(deps.webDir, 'admin'), { index: 'index.html' }));
  app.use('/shared', express.static(path.join(deps.webDir, 'shared')));
  app.get('/', (_req, res) => res.redirect('/till/'));

  app.use((req, _res, next) => next(new HttpError(404, `No route ${req.method} ${req.path}.`, 'not-found')));
  app.use(errorHandler(deps.log));
  assertRoutesDeclared(app);
  return app;
}

function notFound(memberId: string): HttpError {
  return new HttpError(404, `No member ${memberId}.`, 'member-not-found');
}

/** Photos from a raw image body, a multipart upload, or the newest frame of a lane's camera. */
function imagesOf(req: Request, lanes: LaneDirectory): { images: EnrollmentImage[]; fields: z.infer<typeof consentFields> } {
  if (Buffer.isBuffer(req.body)) {
    return { images: [{ label: 'body', bytes: req.body }], fields: consentFields.parse(req.query) };
  }
  const files = (req.files as Express.Multer.File[] | undefined) ?? [];
  if (files.length > 0) {
    return {
      images: files.map((f, i) => ({ label: f.originalname || `photo ${i + 1}`, bytes: f.buffer })),
      fields: consentFields.parse(req.body ?? {}),
    };
  }
  if (req.body && typeof req.body === 'object' && 'fromLane' in req.body) {
    const input = fromLaneInput.parse(req.body);
    if (!lanes.has(input.fromLane)) throw new HttpError(404, `No lane "${input.fromLane}".`, 'lane-not-found');
    const frame = lanes.latestFrame(input.fromLane);
    if (!frame) throw new HttpError(409, `Lane "${input.fromLane}" has no camera frame yet; check its camera status.`, 'no-frame');
    return { images: [{ label: `lane ${input.fromLane}`, bytes: frame }], fields: { ...input, lane: input.lane ?? input.fromLane } };
  }
  throw new HttpError(
    400,
    'Send a photo: an image/jpeg, image/png or image/webp body, a multipart form with "photo" files, or JSON {"fromLane": "<lane>"}; add consentMethod and staff for a member without face consent.',
    'no-image',
  );
}
