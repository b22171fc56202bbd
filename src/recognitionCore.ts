import { hkdfSync } from 'node:crypto';
import path from 'node:path';
import { chainFaceKey, chainPayerKeySecret } from './chain/chainKeys.js';
import type { Settings } from './config/settingsSchema.js';
import { childLogger, createLogger, type Logger } from './core/logger.js';
import { loadFaceKey, MemberStore, type MigrationBackupOptions } from './ledger/index.js';
import { Enrollment } from './matching/enrollment.js';
import { Gallery } from './matching/gallery.js';
import type { FaceAnalyzer } from './vision/faceAnalyzer.js';
import { Identification } from './matching/identification.js';
import { FaceEngine } from './vision/faceEngine.js';
import { NO_TILLS, type TillNotifier } from './push/tillNotifier.js';
import { MemberService } from './services/memberService.js';
import { loadMatchCalibration } from './matching/matchCalibration.js';
import type { MatchPolicy } from './matching/matcher.js';
import { OperatingPoint, type Calibration } from './matching/operatingPoint.js';

/** A face analyzer with the name of the TensorFlow.js backend it runs on. */
export type BackedAnalyzer = FaceAnalyzer & { readonly backend: string };

export interface RecognitionCore {
  analyzer: BackedAnalyzer;
  store: MemberStore;
  gallery: Gallery;
  enrollment: Enrollment;
  identification: Identification;
  /** The match threshold per face size for the gallery as it is now, from the calibration and the false-naming budget. */
  operatingPoint: OperatingPoint;
  /** Where the calibration behind the operating point came from, for the admin page. */
  calibrationSource: Calibration['source'];
  /** What every decision applies: the operating point's thresholds and the margin. */
  matchPolicy: MatchPolicy;
  /** For enrollment's check that a face is not another member's already: looser than naming. */
  sameFacePolicy: MatchPolicy;
  /** Signs member QR codes; derived from the device key, which is read once. */
  memberQrSecret: Buffer;
  close(): Promise<void>;
}

/**
 * The member service over the core's store and gallery. The service passes its till gateway and
 * lanes; the command line has neither, and the running service follows what it changed.
 */
export function memberServiceOf(
  core: RecognitionCore,
  settings: Settings,
  log: Logger,
  lanes: { till: TillNotifier; forgetOnLanes: (memberId: string) => void } = { till: NO_TILLS, forgetOnLanes: () => undefined },
): MemberService {
  const { facesPerMemberMax, facesTooAlikeDistance } = settings.matching;
  return new MemberService({
    store: core.store,
    gallery: core.gallery,
    enrollment: core.enrollment,
    matchPolicy: core.matchPolicy,
    sameFacePolicy: core.sameFacePolicy,
    visitFaces: { facesPerMemberMax, facesTooAlikeDistance },
    log,
    ...lanes,
  });
}

/** Absolute path of a file that settings name relative to dataDir. */
export function dataPath(settings: Settings, file: string): string {
  return path.resolve(settings.dataDir, file);
}

/** The member store alone, for commands that need no face engine (listing, deleting). */
export function openMemberStore(settings: Settings, deviceKey: Buffer = loadDeviceKey(settings)): MemberStore {
  return MemberStore.open({
    databaseFile: dataPath(settings, settings.storage.databaseFile),
    faceKey: deviceKey,
    membership: settings.membership,
    maxWritesPerCommit: settings.storage.maxWritesPerCommit,
    timeZone: settings.analytics.timeZone,
    backupBeforeMigration: migrationBackup(settings),
    payerKeySecret: chainPayerKeySecret(settings),
    chainFaceKey: chainFaceKey(settings),
  });
}

/** An upgrade backs up the database before changing its schema, into the backup folder. */
function migrationBackup(settings: Settings): MigrationBackupOptions {
  return {
    folder: dataPath(settings, settings.backup.folder),
    // A logger of its own: the command line opens the store without one, and this is rare.
    onBackup: (backup) =>
      childLogger(createLogger(settings.logLevel), 'ledger').info(
        backup,
        'database backed up before its schema upgrade; "memberlens restore FILE --yes" undoes the upgrade',
      ),
  };
}

/** The device's 32-byte secret: encrypts faces, and keys the other secrets derived from it. */
function loadDeviceKey(settings: Settings): Buffer {
  return loadFaceKey({ keyFile: dataPath(settings, settings.storage.faceKeyFile) });
}

/** Signs member QR codes; derived so that a leaked QR secret reveals nothing about the face key. */
function deriveMemberQrSecret(deviceKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', deviceKey, Buffer.alloc(0), 'memberlens member-qr v1', 32));
}

/**
 * Opens the store, fills the in-memory gallery from it and loads the face engine — the
 * recognition stages in flow order. The service and the CLI both start from here.
 */
export async function openRecognitionCore(
  settings: Settings,
  root: Logger,
  /** The service passes a worker pool; the CLI's default runs the engine in-process. */
  createAnalyzer: () => Promise<BackedAnalyzer & { close?: () => Promise<void> }> = () =>
    FaceEngine.create(settings.vision, childLogger(root, 'vision')),
): Promise<RecognitionCore> {
  const log = childLogger(root, 'recognition');
  const deviceKey = loadDeviceKey(settings);
  const store = openMemberStore(settings, deviceKey);
  try {
    const gallery = await Gallery.create();
    for (const face of store.faces.loadAll()) gallery.add(face.faceId, face.memberId, face.descriptor);
    log.info(
      { faces: gallery.size, members: gallery.memberCount, kernel: gallery.kernel, kernelFallback: gallery.kernelFallbackReason },
      'gallery loaded',
    );
    const calibration = loadMatchCalibration();
    const operatingPoint = new OperatingPoint(calibration, settings.matching, () => gallery.memberCount);
    const policy: MatchPolicy = { matchMarginMin: settings.matching.matchMarginMin, thresholdFor: (facePx) => operatingPoint.thresholdFor(facePx) };
    const sameFacePolicy: MatchPolicy = { matchMarginMin: settings.matching.matchMarginMin, thresholdFor: (facePx) => operatingPoint.possiblySameFaceDistance(facePx) };
    const analyzer = await createAnalyzer();
    return {
      operatingPoint,
      calibrationSource: calibration.source,
      matchPolicy: policy,
      sameFacePolicy,
      analyzer,
      store,
      gallery,
      // In a chain the member QR is signed with a chain-wide secret, so a QR from one branch works at every branch.
      memberQrSecret: deriveMemberQrSecret(chainPayerKeySecret(settings) ?? deviceKey),
      enrollment: new Enrollment({ analyzer, gallery, policy: sameFacePolicy }),
      identification: new Identification({ analyzer, gallery, policy, stillDetector: settings.vision.enrollDetector }),
      close: async () => {
        await analyzer.close?.();
        store.close();
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}
