import type { LaneDirectory } from '../admin/adminApp.js';
import { UserError } from '../core/errors.js';
import type { Lane } from './lane.js';

/** The lanes as the HTTP routes see them: status with live counts, pushed frames, the newest frame. */
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
