import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
// Types only: the compiled contract module lives outside the served web root, and a type
// import is erased, so the browser never asks for it.
import type {
  TILL_NAMESPACE,
  TillClientToServerEvents,
  TillEventName,
  TillEventPayload,
  TillHandshakeAuth,
  TillSocketEvents,
} from '../../push/tillEvents.js';
import type { TillSettings } from './tillSettings.js';

type TillSocket = Socket<TillSocketEvents, TillClientToServerEvents>;
type GenericOn = { on(name: string, listener: (event: never, ack: () => void) => void): void };
type IoFactory = (uri: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

/** Typed against the contract, so renaming the namespace there breaks this build. */
const NAMESPACE: typeof TILL_NAMESPACE = '/till';

/** Enough to recognise a redelivery after a reconnect; far more than one lane sees in minutes. */
const REMEMBERED_EVENT_IDS = 1000;

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'connected' }
  | { kind: 'reconnecting' }
  | { kind: 'refused'; message: string }
  | { kind: 'closed' }
  | { kind: 'unavailable' };

/** One handler per contract event: adding an event to the contract fails the build until the page handles it. */
export type TillHandlers = { [E in TillEventName]: (event: TillEventPayload<E>) => void };

/**
 * The till's side of the Socket.IO contract: acknowledges every event (duplicates too, or the
 * service would keep resending them), drops repeats by eventId, and reports the connection
 * in the four states a cashier needs to tell apart.
 */
export class TillConnection {
  private socket: TillSocket | undefined;
  private readonly seen = new Set<string>();

  constructor(
    private readonly handlers: TillHandlers,
    private readonly onState: (state: ConnectionState) => void,
  ) {}

  connect(settings: TillSettings): void {
    this.close();
    const io = (globalThis as { io?: IoFactory }).io;
    if (!io) {
      this.onState({ kind: 'unavailable' });
      return;
    }
    const auth: TillHandshakeAuth = { token: settings.token, lane: settings.lane };
    const socket = io(NAMESPACE, { auth, transports: ['websocket'] }) as unknown as TillSocket;
    this.socket = socket;
    this.onState({ kind: 'connecting' });

    socket.on('connect', () => this.onState({ kind: 'connected' }));
    socket.on('connect_error', (err) => {
      // The client stops retrying only when the server's middleware refused the handshake.
      this.onState(socket.active ? { kind: 'reconnecting' } : { kind: 'refused', message: err.message });
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') return;
      // Only a disconnect the server chose leaves the socket inactive; it will not come back by itself.
      this.onState(socket.active ? { kind: 'reconnecting' } : { kind: 'closed' });
    });
    for (const name of Object.keys(this.handlers) as TillEventName[]) this.listen(socket, name);
  }

  close(): void {
    this.socket?.disconnect();
    this.socket = undefined;
  }

  private listen<E extends TillEventName>(socket: TillSocket, name: E): void {
    const listener = (event: TillEventPayload<E>, ack: () => void): void => {
      ack();
      if (!this.isNew(event.eventId)) return;
      try {
        this.handlers[name](event);
      } catch (err) {
        // One bad event must not stop the screen from showing the next member.
        console.error(`memberlens: handling ${name} failed`, err);
      }
    };
    // socket.io's conditional listener types cannot follow a generic event name; the mapped
    // TillHandlers type above is what ties each name to its payload.
    (socket as unknown as GenericOn).on(name, listener);
  }

  private isNew(eventId: string): boolean {
    if (this.seen.has(eventId)) return false;
    this.seen.add(eventId);
    if (this.seen.size > REMEMBERED_EVENT_IDS) {
      // Sets iterate in insertion order, so the first key is the oldest.
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }
}
