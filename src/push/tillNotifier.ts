import type { TillEventName, TillEventPayload } from './tillEvents.js';

/** An event as a service states it; the gateway adds `eventId`, `lane` and `at`. */
export type TillEventBody<E extends TillEventName> = Omit<TillEventPayload<E>, 'eventId' | 'lane' | 'at'>;

/** A till event addressed to one till, e.g. the lane's current state for a till that just joined. */
export interface TillMessage<E extends TillEventName = TillEventName> {
  event: E;
  body: TillEventBody<E>;
}

/**
 * How services tell the cashier screens: one lane's tills, or every lane's (a member deleted,
 * a tier changed outside any checkout). Before the gateway runs and while it stops there is no
 * till to tell, and the event is dropped: tills learn the current state when they join.
 */
export interface TillNotifier {
  toLane<E extends TillEventName>(lane: string, event: E, body: TillEventBody<E>): void;
  toAllLanes<E extends TillEventName>(event: E, body: TillEventBody<E>): void;
}

/** For the command line, which has no tills: a service it runs changes the database, and the running service follows. */
export const NO_TILLS: TillNotifier = {
  toLane: () => undefined,
  toAllLanes: () => undefined,
};
