import { UserError } from '../core/errors.js';
import type { Lane, LaneStatus, ScanAnswer } from './lane.js';

/** A lane as the admin page shows it. */
export interface LaneView extends LaneStatus {
  connectedTills: number;
}

/** What the HTTP routes need from the lanes, without knowing how they run. */
export interface LaneDirectory {
  list(): LaneView[];
  has(lane: string): boolean;
  /** Hands a pushed camera frame to the lane; false when the lane takes no pushed frames. */
  pushFrame(lane: string, bytes: Uint8Array): boolean;
  /** The newest frame the lane's camera delivered, for enrolling from the live camera. */
  latestFrame(lane: string): Uint8Array | undefined;
  /** A code posted for the lane's scanner; resolves with what its till was told. */
  postScan(lane: string, code: string): Promise<ScanAnswer>;
}

/** The lanes as the HTTP routes see them: status with live counts, pushed frames, posted scans, the newest frame. */
export function laneDirectory(lanes: ReadonlyMap<string, Lane>, tillsByLane: () => Record<string, number>): LaneDirectory {
  return {
    list: () => {
      const tills = tillsByLane();
      return [...lanes.values()].map((lane) => ({ ...lane.status(), connectedTills: tills[lane.id] ?? 0 }));
    },
    has: (id) => lanes.has(id),
    pushFrame: (id, bytes) => lanes.get(id)?.pushFrame(bytes) ?? false,
    latestFrame: (id) => lanes.get(id)?.latestFrame(),
    postScan: async (id, code) => {
      const lane = lanes.get(id);
      if (!lane) throw new UserError(`No lane "${id}".`, 'lane-not-found');
      return lane.postScan(code);
    },
  };
}
