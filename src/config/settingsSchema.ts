import { z } from 'zod';
import { freeTextProblem } from '../core/freeText.js';
import { cameraConfigSchema } from '../sources/cameraConfigSchema.js';
import { scannerConfigSchema } from '../sources/scannerConfigSchema.js';

/**
 * Every tunable number of the service lives here, with its unit in its name and a
 * description that the settings reference in the README is written from.
 * Defaults are chosen for a 2–4 core till PC without a GPU.
 */

const qualityGate = (d: {
  minFaceSizePx: number;
  minDetectionScore: number;
  maxYawDeg: number;
  maxRollDeg: number;
  minSharpness: number;
  minBrightness: number;
  maxBrightness: number;
}) =>
  z
    .object({
      minFaceSizePx: z.number().int().min(16).default(d.minFaceSizePx)
        .describe('Shorter side of the face box, in pixels of the original image'),
      minDetectionScore: z.number().min(0).max(1).default(d.minDetectionScore)
        .describe('Detector confidence a face needs'),
      maxYawDeg: z.number().min(0).max(90).default(d.maxYawDeg)
        .describe('Largest head turn left/right, estimated from the 68 landmarks'),
      maxRollDeg: z.number().min(0).max(90).default(d.maxRollDeg)
        .describe('Largest head tilt, from the line through the eye centres'),
      minSharpness: z.number().min(0).default(d.minSharpness)
        .describe('Variance of the Laplacian of the face scaled to 112 px; lower is blurrier'),
      minBrightness: z.number().min(0).max(255).default(d.minBrightness)
        .describe('Darkest mean grey level (0–255) of the face accepted'),
      maxBrightness: z.number().min(0).max(255).default(d.maxBrightness)
        .describe('Brightest mean grey level (0–255) of the face accepted'),
    })
    .strict()
    .prefault({});

/** An IANA zone name Intl knows, or empty for the PC's own. */
function knownTimeZone(zone: string): boolean {
  if (zone === '') return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A coupon as settings, campaign rules and admin batches describe it: yuan and days. */
export const couponTermsSchema = z
  .object({
    title: z.string()
      .superRefine((text, ctx) => {
        const problem = freeTextProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .trim().normalize('NFC').min(1).max(20)
      .describe('What the till and the member\'s coupon list call it, e.g. 回归券'),
    amountOffYuan: z.number().positive().max(100_000).multipleOf(0.01).optional()
      .describe('Fixed amount off the order; give this or rate'),
    rate: z.number().gt(0).lt(1).multipleOf(0.01).optional()
      .describe('Price multiplier, e.g. 0.9 for 10 % off; give this or amountOffYuan'),
    minSpendYuan: z.number().min(0).max(100_000).multipleOf(0.01).default(0)
      .describe('The order before the coupon must reach this; 0 = any order'),
    validDays: z.number().int().min(1).max(3650)
      .describe('Days the coupon is valid from when it is issued'),
  })
  .strict()
  .refine((t) => (t.amountOffYuan === undefined) !== (t.rate === undefined), {
    message: 'give exactly one of amountOffYuan (amount off) and rate (e.g. 0.9 for 10 % off)',
    path: ['amountOffYuan'],
  })
  .refine((t) => t.amountOffYuan === undefined || t.minSpendYuan === 0 || t.amountOffYuan < t.minSpendYuan, {
    message: 'an amount-off coupon must take off less than its minimum spend',
    path: ['amountOffYuan'],
  });

const rule = <T extends z.ZodRawShape>(shape: T) => z.object({ enabled: z.boolean().default(true).describe('Whether the rule fires'), ...shape }).strict();

/**
 * The campaign rules: the settings hold the defaults, and an admin may save others at run
 * time (PUT /api/campaigns/rules), which are validated by this same schema and kept in the
 * database over the defaults. No rule fires for a member who opted out of marketing.
 */
export const campaignRulesSchema = z
  .object({
    joinGift: rule({
      coupon: couponTermsSchema.default({ title: '新会员礼券', amountOffYuan: 5, minSpendYuan: 30, validDays: 30 }),
    }).prefault({}).describe('A first-time payer who becomes a member (支付即会员) gets this coupon for the next visit'),
    birthday: rule({
      windowDays: z.number().int().min(0).max(15).default(3)
        .describe('Days before and after the birthday (month-day) that count as the birthday week'),
      reward: z.enum(['coupon', 'points-multiplier']).default('coupon')
        .describe('coupon = the coupon below, once a year; points-multiplier = the points of purchases in the window are multiplied'),
      coupon: couponTermsSchema.default({ title: '生日券', amountOffYuan: 20, minSpendYuan: 100, validDays: 14 }),
      pointsMultiplier: z.number().int().min(2).max(10).default(2)
        .describe('With reward points-multiplier: points earned in the birthday window are multiplied by this'),
    }).prefault({}).describe('Members who gave their birthday (with their agreement) are greeted in their birthday week, once a year'),
    dormantWelcome: rule({
      coupon: couponTermsSchema.default({ title: '回归券', amountOffYuan: 10, minSpendYuan: 50, validDays: 14 }),
    }).prefault({}).describe('A dormant or lost member who is recognized or scans their member QR gets this coupon, once per dormancy'),
    spendThreshold: rule({
      minOrderYuan: z.number().positive().max(100_000).default(200)
        .describe('A payment of at least this (满X) earns the coupon'),
      coupon: couponTermsSchema.default({ title: '满额返券', amountOffYuan: 20, minSpendYuan: 100, validDays: 30 }),
    }).prefault({}).describe('A coupon for the next visit after a large payment (满X送券), once per order'),
    nearTier: rule({
      withinYuan: z.number().positive().max(100_000).default(100)
        .describe('Remind a member whose spend in the tier window is within this of the next tier'),
    }).prefault({}).describe('A member close to the next tier hears how much more reaches it'),
    pointsExpiring: rule({
      withinDays: z.number().int().min(1).max(365).default(30)
        .describe('Points that expire within this many days are mentioned'),
      minPoints: z.number().int().min(1).default(100)
        .describe('Fewer expiring points than this are not worth a prompt'),
    }).prefault({}).describe('A member whose points are about to expire is told how many'),
    rechargeOffer: rule({
      minPaymentYuan: z.number().positive().max(100_000).default(100)
        .describe('After a payment of at least this by a member with no stored value, the till shows the best recharge bonus (membership.rechargeBonusRules, e.g. 充100送10)'),
    }).prefault({}).describe('Offer stored value to a member who pays a lot without any'),
    referral: rule({
      referrerCoupon: couponTermsSchema.default({ title: '推荐奖励券', amountOffYuan: 10, minSpendYuan: 50, validDays: 30 }),
      refereeCoupon: couponTermsSchema.default({ title: '好友礼券', amountOffYuan: 10, minSpendYuan: 50, validDays: 30 }),
    }).prefault({}).describe('A member\'s QR scanned before a first-time payer pays (老带新): both get their coupon, once per new member'),
    checkIn: rule({
      points: z.number().int().min(0).max(1000).default(0)
        .describe('Points for the first recognized visit of a day (face or member QR); 0 = none'),
    }).prefault({}).describe('A recognized visit counts once a day (签到); consecutive days make a streak'),
  })
  .strict();

export type CampaignRules = z.infer<typeof campaignRulesSchema>;
export type CouponTermsSetting = z.infer<typeof couponTermsSchema>;

export const settingsSchema = z
  .object({
    dataDir: z.string().min(1).default('data')
      .describe('Folder for the database, the face key and backups; relative paths are from the working directory'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
      .describe('Least severe log level written (to stderr)'),
    storage: z
      .object({
        databaseFile: z.string().min(1).default('memberlens.db')
          .describe('SQLite file, relative to dataDir'),
        faceKeyFile: z.string().min(1).default('face.key')
          .describe('AES-256 key for face data at rest, relative to dataDir; created with mode 0600 on first start. MEMBERLENS_FACE_KEY overrides it'),
        maxWritesPerCommit: z.number().int().min(1).max(10_000).default(200)
          .describe('Payments, refunds, recharges and deductions that arrive together share one transaction and one fsync (group commit); at most this many per commit'),
        followChangesEveryMs: z.number().int().min(100).max(60_000).default(1000)
          .describe('How often the service checks for members and faces changed by another process (the command line); an erased member leaves the in-memory gallery within this time'),
      })
      .strict()
      .prefault({}),
    vision: z
      .object({
        backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto')
          .describe('auto = tfjs-node when it loads, else WASM; cpu (pure JS) only when forced, it is 30–40x slower'),
        enrollDetector: z.enum(['ssd', 'tiny']).default('ssd')
          .describe('Detector for enrollment photos and the CLI: SSD MobileNet v1 is slower and finds more faces'),
        liveDetector: z.enum(['ssd', 'tiny']).default('tiny')
          .describe('Detector for live camera frames'),
        ssdMinConfidence: z.number().min(0.05).max(1).default(0.5)
          .describe('SSD detections below this score are dropped before the quality gate'),
        tinyInputSizePx: z.number().int().multipleOf(32).min(128).max(608).default(416)
          .describe('Tiny Face Detector input size; larger finds smaller faces, slower'),
        tinyScoreThreshold: z.number().min(0.05).max(1).default(0.5)
          .describe('Tiny Face Detector detections below this score are dropped before the quality gate'),
        mirrorAverage: z.boolean().default(true)
          .describe('Average each descriptor with that of the mirrored face: tighter same-person distances for one more recognition pass'),
        maxImageBytes: z.number().int().min(1024).default(20 * 1024 * 1024)
          .describe('Largest encoded image accepted'),
        maxImagePixels: z.number().int().min(1).default(40_000_000)
          .describe('Largest width×height read from the image header; bigger is refused before decoding (decompression bombs)'),
        maxDecodeSidePx: z.number().int().min(320).default(1920)
          .describe('Longer side an image is scaled down to before detection'),
        cropPadMaxSidePx: z.number().int().min(0).default(320)
          .describe('Images whose longer side is at most this are treated as tight face crops and padded before detection'),
        cropPadRatio: z.number().min(0).max(3).default(1)
          .describe('Grey border added on each side of a tight crop, as a fraction of its size'),
        enrollGate: qualityGate({
          minFaceSizePx: 80, minDetectionScore: 0.6, maxYawDeg: 30, maxRollDeg: 20,
          minSharpness: 40, minBrightness: 40, maxBrightness: 220,
        }).describe('Quality a face needs to be enrolled'),
        liveGate: qualityGate({
          minFaceSizePx: 48, minDetectionScore: 0.5, maxYawDeg: 40, maxRollDeg: 30,
          minSharpness: 15, minBrightness: 25, maxBrightness: 235,
        }).describe('Quality a live face needs before it is matched'),
      })
      .strict()
      .prefault({}),
    matching: z
      .object({
        matchMarginMin: z.number().min(0).max(2).default(0.1)
          .describe('Smallest lead of the best member over the second-best member'),
        falseNamingPerVisit: z.number().gt(0).max(0.01).default(0.0001)
          .describe('Chance that a stranger\'s visit is named as some member: the match threshold per face size follows from it, the number of members enrolled and the calibration (models/match-calibration.json)'),
        minNameableTrueAcceptRate: z.number().min(0).max(1).default(0.5)
          .describe('A face size at which fewer than this share of members would be named casts no vote: the tracker waits for the face to come closer'),
        facesTooAlikeDistance: z.number().gt(0).max(2).default(0.15)
          .describe('A member whose enrolled faces all lie closer together than this descriptor distance has in effect one photo (the same picture twice): the admin page asks for another from a different day or angle'),
        facesPerMemberMax: z.number().int().min(1).max(20).default(5)
          .describe('A face seen at the till that a payment confirms (named as the payer) is kept as one more enrolled face while the member has fewer than this many and it is no near-copy (facesTooAlikeDistance) of one they have'),
      })
      .strict()
      .prefault({}),
    tracker: z
      .object({
        iouMatchMin: z.number().gt(0).max(1).default(0.3)
          .describe('Smallest box overlap (IoU) for a face to continue a track from the previous frame'),
        sameTrackDistanceMax: z.number().gt(0).max(2).default(0.6)
          .describe('A face further than this descriptor distance from its track\'s last face starts a new track (someone else stepped in)'),
        recheckEveryMs: z.number().int().min(100).default(2000)
          .describe('How often the face of an already identified track is described again, to catch a person swap'),
        votesToDecide: z.number().int().min(1).default(2)
          .describe('Frames that must agree on the same member before the till is told'),
        voteAgreementMin: z.number().gt(0).max(1).default(0.6)
          .describe('Share of a track\'s votes that the agreeing member votes must make up'),
        unknownVotesToDecide: z.number().int().min(1).default(3)
          .describe('Unknown votes after which a track is reported as an unknown customer'),
        trackTimeoutMs: z.number().int().min(100).default(1500)
          .describe('A face not seen for this long has left'),
        popupCooldownMs: z.number().int().min(0).default(60_000)
          .describe('No second popup for the same member on a lane within this time after they were last seen'),
      })
      .strict()
      .prefault({}),
    sceneGate: z
      .object({
        enabled: z.boolean().default(true)
          .describe('Look at each frame cheaply before the face networks: a scene that has not changed since the last analyzed frame is not analyzed again (tracks in it are kept alive); false = every frame is analyzed, as before the gate'),
        thumbnailWidthPx: z.number().int().min(16).max(320).default(80)
          .describe('Width of the grey thumbnail the gate compares frames on; small enough that sensor noise averages out, large enough that a face moving in is many pixels'),
        pixelChangeGreyLevels: z.number().int().min(1).max(255).default(12)
          .describe('A thumbnail pixel whose grey level moved by more than this since the last analyzed frame counts as changed; above sensor noise, below a face moving over the background'),
        changedShareMin: z.number().gt(0).max(1).default(0.004)
          .describe('Share of thumbnail pixels that must have changed for the frame to be analyzed (0.004 of 80×60 is 19 pixels, a face of about 40 px in a 640×480 frame)'),
        emptySceneRecheckMs: z.number().int().min(100).default(5000)
          .describe('An unchanged scene with nobody tracked is analyzed again after this long all the same, in case a change crept in below the gate'),
        newFaceFullRateFrames: z.number().int().min(0).default(15)
          .describe('A face is analyzed on each of its first this many frames whether the scene changed or not: its votes, its capture for a consented enrollment and the payer attribution need them; after that an unchanged scene holds it'),
        searchMarginRatio: z.number().min(0).max(5).default(0.35)
          .describe('When every face in the scene is already named (or judged unknown) and not due for a re-check, and all that changed lies near them, the detector searches only around them: each face box widened by this share of its size on every side, at a smaller detector input (cheaper by about the region\'s share of the frame, squared); 0 = always the whole frame'),
        followKnownFacesByBox: z.boolean().default(true)
          .describe('A face the lane has already named (or judged unknown), found again where it was, is followed by its box alone, without its 68 landmarks and quality (it is not described anyway until its re-check)'),
      })
      .strict()
      .prefault({}),
    inference: z
      .object({
        workers: z.number().int().min(0).max(64).default(0)
          .describe('Inference worker threads, one face engine each; 0 = one per CPU core'),
        workerNice: z.number().int().min(0).max(19).default(10)
          .describe('Linux: nice value of the inference threads, so that payments, till pushes and /healthz on the main thread get the CPU first when the cores are busy (frames wait instead; the newest one is analyzed); 0 = same priority as the main thread'),
        workerWasmHeapMaxBytes: z.number().int().min(0).default(256 * 1024 * 1024)
          .describe('A worker whose WebAssembly memory (WASM backend) grew past this, e.g. from an enrollment photo through the SSD detector, is replaced by a fresh one once it has answered, since that memory is never given back; camera frames alone keep it at about 105 MB (100 MiB, Tiny detector at 416 px); 0 = never'),
        workerYoungGenerationMaxMb: z.number().int().min(1).max(64).default(8)
          .describe('Cap on each inference worker\'s V8 young generation, where TensorFlow.js\'s many short-lived objects are born. V8\'s own default lets it reach about 48 MB per worker and keeps what it touched; at 8 the service\'s RSS with two workers was about 77 MB lower for about 7 % more CPU per frame (more frequent minor collections)'),
        maxQueueLength: z.number().int().min(1).default(32)
          .describe('Analyses waiting for a worker beyond this are refused (HTTP 503) instead of piling up'),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1')
          .describe('Address to listen on; 127.0.0.1 serves only this PC, 0.0.0.0 also other screens in the store'),
        port: z.number().int().min(0).max(65535).default(8080)
          .describe('HTTP and Socket.IO port; 0 picks a free one'),
        jsonBodyLimitBytes: z.number().int().min(1024).default(64 * 1024)
          .describe('Largest JSON body accepted'),
        headersTimeoutMs: z.number().int().min(1000).default(10_000)
          .describe('A client that has not sent its request headers within this time gets 408 and is disconnected (slow or stalled clients hold no connection for long)'),
        requestTimeoutMs: z.number().int().min(1000).default(60_000)
          .describe('A client that has not sent its whole request (headers and body) within this time gets 408 and is disconnected; at least headersTimeoutMs. Answers that take long (till long-polling) are not affected'),
        shedLoadAboveLagMs: z.number().int().min(0).default(250)
          .describe('When the main thread runs this far behind (median over 0.5 s), pushed frames, photo uploads and ledger writes get 503 with Retry-After: 1 at once, instead of an answer after the caller gave up; /healthz, scans, consent answers and the tills are never refused; 0 = never shed'),
      })
      .strict()
      .refine((s) => s.requestTimeoutMs >= s.headersTimeoutMs, {
        message: 'server.requestTimeoutMs must be at least server.headersTimeoutMs',
        path: ['requestTimeoutMs'],
      })
      .prefault({}),
    till: z
      .object({
        recoveryWindowMs: z.number().int().min(1000).default(120_000)
          .describe('A till that reconnects within this time receives the events it missed'),
        ackTimeoutMs: z.number().int().min(100).default(10_000)
          .describe('Time a till has to acknowledge an event before it counts as unacknowledged'),
      })
      .strict()
      .prefault({}),
    lanes: z
      .array(
        z
          .object({
            id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lane ids are 1–32 lowercase letters, digits or dashes'),
            camera: cameraConfigSchema,
            scanner: scannerConfigSchema.default({ kind: 'http', maxCodeLength: 512 })
              .describe('The lane scanner; http = codes posted to POST /api/lanes/:lane/scans'),
          })
          .strict(),
      )
      .default([
        {
          id: 'demo',
          camera: cameraConfigSchema.parse({ kind: 'replay', folder: 'demo/frames', fps: 2 }),
          scanner: scannerConfigSchema.parse({ kind: 'http' }),
        },
      ])
      .refine((lanes) => new Set(lanes.map((l) => l.id)).size === lanes.length, 'lane ids must be unique')
      .describe('Checkout lanes: each has a camera and a till room. The default is a demo lane replaying demo/frames'),
    demo: z
      .object({
        seedFolder: z.string().default('demo/members')
          .describe('On a first start with no members, enroll each image here as a demo member (file name = name). Empty string = off'),
      })
      .strict()
      .prefault({}),
    backup: z
      .object({
        intervalHours: z.number().min(0).default(24)
          .describe('Online backup of the member database every this many hours, first one at start; 0 = off'),
        keep: z.number().int().min(1).default(7)
          .describe('Newest backups kept; older ones are deleted (a deleted member leaves the backups after keep × interval)'),
        folder: z.string().min(1).default('backups')
          .describe('Backup folder, relative to dataDir. Copy it, and the face key, to another disk or machine'),
      })
      .strict()
      .prefault({}),
    checkout: z
      .object({
        consentPolicy: z.enum(['confirm', 'signage', 'off']).default('confirm')
          .describe('Linking a payer\'s face: confirm = the till asks and the cashier records the answer; signage = a posted notice is consent (only where the law allows); off = never'),
        consentRequestTtlMs: z.number().int().min(5_000).default(60_000)
          .describe('An unanswered consent request is dropped, with the captured face, after this long'),
        scanWindowMs: z.number().int().min(100).default(3_000)
          .describe('Faces seen this long before or after a scan are the candidates for the payer'),
        paymentWindowMs: z.number().int().min(1_000).default(120_000)
          .describe('A payment is paired with a scan of its lane at most this long before it'),
        dominantAreaRatioMin: z.number().gt(1).default(2)
          .describe('With several faces at the scanner, the largest must be this many times the next to count as the payer'),
        minFramesSeen: z.number().int().min(1).default(2)
          .describe('Frames a face must have been seen on to be linked to a payment'),
        cashierZone: z.object({
          x: z.number().min(0).max(1), y: z.number().min(0).max(1), width: z.number().gt(0).max(1), height: z.number().gt(0).max(1),
        }).strict().default({ x: 0, y: 0, width: 1, height: 1 })
          .describe('Where the paying customer stands, as fractions of the camera frame; a face outside never counts as the payer'),
        paymentProvider: z.enum(['none', 'local-fake']).default('none')
          .describe('Pre-payment payer lookup so a returning payer\'s discount applies before charging; local-fake is for tests and the demo'),
        memberQrTtlMs: z.number().int().min(10_000).default(300_000)
          .describe('How long a member QR issued by GET /api/members/:id/qr stays valid'),
      })
      .strict()
      .prefault({}),
    membership: z
      .object({
        tiers: z
          .array(
            z
              .object({
                name: z.string().min(1).max(20),
                discountRate: z.number().gt(0).max(1),
                minSpendYuan: z.number().min(0),
              })
              .strict(),
          )
          .min(1)
          .default([
            { name: '普通', discountRate: 1, minSpendYuan: 0 },
            { name: '黄金', discountRate: 0.95, minSpendYuan: 2000 },
            { name: '钻石', discountRate: 0.9, minSpendYuan: 10_000 },
          ])
          .describe('Member tiers from lowest to highest: price multiplier and the cumulative spend that reaches them'),
        rechargeTierRules: z.array(z.object({ minRechargeYuan: z.number().positive(), tier: z.string().min(1) }).strict()).default([])
          .describe('A single recharge of at least minRechargeYuan reaches the named tier at once'),
        tierWindowDays: z.number().int().min(1).default(365)
          .describe('Rolling window of spend that counts towards a tier'),
        tierPeriodDays: z.number().int().min(1).default(365)
          .describe('A reached tier is kept at least this long; downgrades happen only at period end'),
        pointsPerYuan: z.number().min(0).multipleOf(0.01).default(1)
          .describe('Points earned per yuan actually paid (rounded down)'),
        pointsExpiryDays: z.number().int().min(1).default(365)
          .describe('Points expire this long after they were earned, oldest first'),
        rechargeBonusRules: z.array(z.object({ minYuan: z.number().positive(), bonusYuan: z.number().positive() }).strict()).default([])
          .describe('Stored-value bonus, e.g. [{"minYuan":100,"bonusYuan":10}] is 充100送10; the best matching rule applies'),
        maxAmountYuan: z.number().positive().default(100_000)
          .describe('Largest single payment, refund, recharge or deduction accepted'),
        paidAtFutureToleranceMs: z.number().int().min(0).default(300_000)
          .describe('How far a payment\'s paidAt may lie ahead of this PC\'s clock'),
      })
      .strict()
      .prefault({}),
    segments: z
      .object({
        recentDays: z.number().int().min(1).default(30)
          .describe('RFM recency: a member whose last purchase is at most this many whole days ago is recent (R high); loyal members must be this recent too'),
        frequentPurchases: z.number().int().min(1).default(3)
          .describe('RFM frequency: at least this many purchases (orders not wholly refunded) in the last 365 days is frequent (F high)'),
        valuableSpendYuan: z.number().min(0).default(500)
          .describe('RFM monetary: net spend in the last 365 days (payments and stored value spent, minus refunds) of at least this many yuan is valuable (M high)'),
        useStoreMedians: z.boolean().default(false)
          .describe('Split R, F and M at the medians of this store\'s members who bought in the last 365 days instead of recentDays, frequentPurchases and valuableSpendYuan; the medians are taken by each full recompute'),
        newMemberDays: z.number().int().min(0).default(30)
          .describe('A member who joined at most this many whole days ago with at most one purchase is new'),
        loyalPurchasesIn90Days: z.number().int().min(1).default(3)
          .describe('A recent member (recentDays) with at least this many purchases in the last 90 days is loyal'),
        dormantAfterDays: z.number().int().min(1).default(60)
          .describe('A member whose last purchase (or joining, without one) is more than this many whole days ago is dormant'),
        lostAfterDays: z.number().int().min(1).default(180)
          .describe('A member whose last purchase (or joining, without one) is more than this many whole days ago is lost; must exceed dormantAfterDays'),
        recomputeEveryHours: z.number().min(1).max(24 * 7).default(24)
          .describe('Every member\'s lifecycle and RFM segment are recomputed at start and then this often, since days pass without purchases; a member\'s own ledger change recomputes them at once'),
        recomputeBatchMembers: z.number().int().min(1).max(100_000).default(500)
          .describe('Members recomputed per transaction in the full recompute; between batches the service answers other requests'),
        maxTagsPerMember: z.number().int().min(1).max(1000).default(20)
          .describe('Most tags an admin may put on one member (POST /api/members/:id/tags)'),
      })
      .strict()
      .refine((s) => s.lostAfterDays > s.dormantAfterDays, { message: 'segments.lostAfterDays must be greater than segments.dormantAfterDays', path: ['lostAfterDays'] })
      .prefault({}),
    analytics: z
      .object({
        timeZone: z.string().max(64).refine(knownTimeZone, 'not a time zone name this Node knows; use an IANA name such as "Asia/Shanghai", or "" for the PC\'s own').default('')
          .describe('IANA time zone of the store (e.g. "Asia/Shanghai") whose local dates the dashboard counts by; empty = the PC\'s own. Changing it moves only figures recorded afterwards'),
        maxPeriodDays: z.number().int().min(7).max(3660).default(366)
          .describe('Longest from–to range the analytics routes accept, in days; longer ranges are refused with 400'),
      })
      .strict()
      .prefault({}),
    messaging: z
      .object({
        providerUrl: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]).default('')
          .describe('The shop\'s own SMS / WeChat message provider: each message to a member is POSTed here as signed JSON (see Messages to a segment in the README). Empty = no messages are sent'),
        webhookSecret: z.string().default('')
          .describe('Shared secret of the provider URL: every request carries an HMAC-SHA256 of its timestamp and body with it (X-Memberlens-Signature). At least 32 characters when providerUrl is set; keep it out of version control (MEMBERLENS_MESSAGING__WEBHOOK_SECRET)'),
        requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000)
          .describe('A provider request not answered within this time counts as failed and is tried again'),
        maxAttempts: z.number().int().min(1).max(20).default(6)
          .describe('Tries per message before it is marked failed; a 4xx answer other than 408 and 429 fails it at once'),
        retryBaseDelayMs: z.number().int().min(10).default(30_000)
          .describe('Wait before the second try; each further try waits twice as long (exponential backoff), at most retryMaxDelayMs'),
        retryMaxDelayMs: z.number().int().min(10).default(3_600_000)
          .describe('Longest wait between two tries of one message'),
        deliverEveryMs: z.number().int().min(10).max(60_000).default(1000)
          .describe('How often messages that are due (new, or waiting for a retry) are sent'),
      })
      .strict()
      .refine((m) => m.providerUrl === '' || m.webhookSecret.length >= 32, {
        message: 'messaging.webhookSecret must be at least 32 characters when messaging.providerUrl is set (e.g. openssl rand -hex 32)',
        path: ['webhookSecret'],
      })
      .refine((m) => m.retryMaxDelayMs >= m.retryBaseDelayMs, { message: 'messaging.retryMaxDelayMs must be at least retryBaseDelayMs', path: ['retryMaxDelayMs'] })
      .prefault({}),
    chain: z
      .object({
        hqUrl: z.string().default('')
          .describe('URL of the chain\'s HQ service (https://… behind TLS); empty = this store runs alone. With it, chain.storeId and chain.token are required'),
        storeId: z.string().regex(/^([a-z0-9][a-z0-9-]{0,31})?$/, 'store ids are 1–32 lowercase letters, digits or dashes').default('')
          .describe('This store\'s id in the chain, as given to `memberlens hq stores add`'),
        token: z.string().default('')
          .describe('This store\'s token from `memberlens hq stores add` (a secret: prefer the environment variable)'),
        syncEveryMs: z.number().int().min(100).max(600_000).default(2000)
          .describe('How often the store sends its new ledger entries and member changes to HQ and takes the other branches\' from HQ'),
        batchEvents: z.number().int().min(1).max(5000).default(500)
          .describe('Most changes sent to HQ in one batch (one HQ transaction), and most taken from HQ per request'),
        requestTimeoutMs: z.number().int().min(500).max(120_000).default(10_000)
          .describe('A request to HQ without an answer within this long counts as failed: a sync is tried again on schedule, a stored-value payment is refused as offline'),
        faceKeyFile: z.string().min(1).default('chain-face.key')
          .describe('The chain face key, relative to dataDir: the same 32 random bytes (64 hex digits) at every branch, never given to HQ. Faces of members with chain-wide consent travel sealed with it; without the file no face leaves or arrives'),
      })
      .strict()
      .refine((c) => c.hqUrl === '' || (c.storeId !== '' && c.token !== ''), {
        message: 'a store in a chain needs chain.storeId and chain.token besides chain.hqUrl',
        path: ['hqUrl'],
      })
      .refine((c) => c.hqUrl === '' || /^https?:\/\/[^\s]+$/.test(c.hqUrl), { message: 'chain.hqUrl must be an http:// or https:// URL', path: ['hqUrl'] })
      .prefault({}),
    hq: z
      .object({
        databaseUrl: z.string().default('')
          .describe('PostgreSQL connection URL of the HQ service (`memberlens hq serve`), e.g. postgres://memberlens@db/memberlens; empty = not an HQ'),
        host: z.string().min(1).default('127.0.0.1')
          .describe('Address the HQ service listens on; put a TLS proxy in front of it for stores on the internet'),
        port: z.number().int().min(0).max(65535).default(8090)
          .describe('HQ service port; 0 picks a free one'),
        poolSize: z.number().int().min(1).max(100).default(10)
          .describe('PostgreSQL connections one HQ process keeps'),
        maxBatchBytes: z.number().int().min(1024).default(8 * 1024 * 1024)
          .describe('Largest request body HQ accepts (a batch of changes from a store)'),
        timeZone: z.string().min(1).default('Asia/Shanghai')
          .refine((tz) => { try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; } }, 'an IANA time zone such as Asia/Shanghai')
          .describe('Time zone of the dates in the owner\'s overview (from, to): where a day starts and ends'),
      })
      .strict()
      .prefault({}),
    campaigns: z
      .object({
        rules: campaignRulesSchema.prefault({})
          .describe('Coupon and counter campaign rules; defaults here, an admin may save others with PUT /api/campaigns/rules'),
        visitWindowMs: z.number().int().min(10_000).max(6 * 3_600_000).default(30 * 60_000)
          .describe('Counter prompts fire once per visit: a member seen again at any lane within this time of the last sighting is the same visit'),
        batchMaxMembers: z.number().int().min(1).max(1_000_000).default(100_000)
          .describe('Most members one coupon batch (POST /api/coupons/batches) may issue to'),
        expireEveryMinutes: z.number().int().min(1).max(24 * 60).default(60)
          .describe('How often coupons past their validity are recorded as expired in the coupon ledger'),
      })
      .strict()
      .prefault({}),
    security: z
      .object({
        enrollPerMinute: z.number().int().min(1).default(30)
          .describe('Face enrollment requests (POST /api/members/:id/faces) one token may make per minute; more get 429 rate-limited'),
        pushedFramesPerMinute: z.number().int().min(1).default(1200)
          .describe('Frames one token may push to one lane per minute (POST /api/lanes/:lane/frames, each runs face identification); 1200 = 20 fps'),
        loginAuditWindowMs: z.number().int().min(60_000).default(12 * 3_600_000)
          .describe('An admin token\'s use is written to the processing log as a login at most once per this long'),
        auditRetentionDays: z.number().int().min(1095).default(1095)
          .describe('The processing log is kept this long (3 years minimum, which the database also enforces); older entries are deleted at start and hourly, see GET /api/audit/retention'),
        inactiveMemberDays: z.number().int().min(30).default(730)
          .describe('Members not seen (no payment, recognition or other ledger movement) for this long are listed for deletion by GET /api/members/inactive'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Settings = z.infer<typeof settingsSchema>;
export type QualityGate = Settings['vision']['enrollGate'];
export type VisionSettings = Settings['vision'];
export type MatchingSettings = Settings['matching'];
export type MembershipSettings = Settings['membership'];
export type SegmentSettings = Settings['segments'];
export type AnalyticsSettings = Settings['analytics'];
export type MessagingSettings = Settings['messaging'];
export type CampaignSettings = Settings['campaigns'];
export type LaneSettings = Settings['lanes'][number];
export type ChainSettings = Settings['chain'];
export type HqSettings = Settings['hq'];
