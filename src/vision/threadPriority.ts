import { readlinkSync } from 'node:fs';
import { platform, setPriority } from 'node:os';

export interface ThreadPriority {
  /** The kernel's id of this thread, when the platform has one to address. */
  threadId?: number;
  /** The nice value now in force for this thread, when it could be set. */
  nice?: number;
  /** Why the priority was left alone. */
  skipped?: string;
}

/**
 * Lowers the CPU priority of the calling thread only. On Linux the nice value belongs to each
 * thread, and setpriority() given a thread id changes that thread alone; /proc/thread-self
 * names the caller's id. Elsewhere Node can only reprioritize the whole process, which would
 * slow the main thread too, so the priority is left as it is.
 */
export function lowerThisThreadPriority(nice: number): ThreadPriority {
  if (nice === 0) return { skipped: 'nice 0 asked for' };
  if (platform() !== 'linux') return { skipped: `per-thread priority is only set on Linux, not ${platform()}` };
  let threadId: number;
  try {
    // "<pid>/task/<tid>"
    threadId = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch (err) {
    return { skipped: `cannot read /proc/thread-self: ${(err as Error).message}` };
  }
  try {
    setPriority(threadId, nice);
  } catch (err) {
    return { threadId, skipped: `setpriority refused: ${(err as Error).message}` };
  }
  return { threadId, nice };
}
