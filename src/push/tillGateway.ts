import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { Server, type Namespace, type Socket } from 'socket.io';
import type { Logger } from '../core/logger.js';
import {
  TILL_NAMESPACE,
  type TillClientToServerEvents,
  type TillEventName,
  type TillEventPayload,
  type TillHandshakeAuth,
  type TillSocketEvents,
} from './tillEvents.js';
import type { TillEventBody, TillMessage, TillNotifier } from './tillNotifier.js';
import type { Stage } from '../core/stage.js';

export interface TillPrincipal {
  role: 'till' | 'admin';
  tokenId: string;
}

export interface TillGatewayOptions {
  /** Shared with the admin app. `stop()` closes it, because Socket.IO's shutdown does. */
  httpServer: http.Server;
  authenticate: (token: string) => TillPrincipal | undefined;
  lanes: () => string[];
  /** A till that drops and comes back within this long is sent every event it missed. */
  recoveryWindowMs: number;
  ackTimeoutMs: number;
  /** How often each lane gets a session mark; a quarter of the recovery window when not given. */
  sessionMarkIntervalMs?: number;
  log: Logger;
  onConnectionsChanged?: (connectedTills: number) => void;
  /**
   * What a till that just joined a lane must know at once (the camera's and scanner's state, a
   * member standing at the counter); sent to that till only, unless it resumed a session.
   */
  currentState?: (lane: string) => TillMessage[];
}

export interface TillGatewayStats {
  connectedTills: number;
  byLane: Record<string, number>;
  /** Deliveries to single tills, replays included; one event to a lane of two tills counts two. */
  eventsSent: number;
  eventsAcked: number;
  ackTimeouts: number;
}

interface TillSocketData {
  lane: string;
  tokenId: string;
  role: TillPrincipal['role'];
}

type TillNamespace = Namespace<TillClientToServerEvents, TillSocketEvents, Record<string, never>, TillSocketData>;
type TillSocket = Socket<TillClientToServerEvents, TillSocketEvents, Record<string, never>, TillSocketData>;

interface Delivery {
  event: TillEventName;
  payload: TillEventPayload<TillEventName>;
}

/** What a dropped till still has coming: events sent but not acknowledged, then events sent while away. */
interface ParkedSession {
  lane: string;
  disconnectedAt: number;
  missed: Delivery[];
}

const TOKEN_REFUSED_MESSAGE = 'till token missing or invalid; get a till token from the admin';
const AUTH_FAILED_MESSAGE = 'till authentication failed inside the service; reconnect, and tell the admin if it persists';

const TILL_ROLES: ReadonlySet<string> = new Set(['till', 'admin']);
// Socket.IO keeps no session after these, so the till can never be resumed.
const DELIBERATE_DISCONNECTS: ReadonlySet<string> = new Set(['client namespace disconnect', 'server namespace disconnect']);
const LANE_ROOM_PREFIX = 'lane:';

const laneRoom = (lane: string): string => `${LANE_ROOM_PREFIX}${lane}`;

/**
 * Pushes till events to the cashier screens of each lane and resumes a till that drops briefly.
 *
 * Socket.IO's connection state recovery never stores a packet that expects an acknowledgement,
 * and the contract acknowledges every event, so Socket.IO only tells us *that* a till resumed
 * (`socket.recovered`, same socket id, same rooms); the gateway keeps and replays what it missed.
 */
export class TillGateway implements Stage, TillNotifier {
  readonly name = 'till gateway';
  private io: Server<TillClientToServerEvents, TillSocketEvents, Record<string, never>, TillSocketData> | undefined;
  private nsp: TillNamespace | undefined;
  private markTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private readonly parked = new Map<string, ParkedSession>();
  private readonly pending = new WeakMap<TillSocket, Set<Delivery>>();
  private readonly sessionMarkIntervalMs: number;
  private readonly counters = { eventsSent: 0, eventsAcked: 0, ackTimeouts: 0 };

  constructor(private readonly opts: TillGatewayOptions) {
    this.sessionMarkIntervalMs = opts.sessionMarkIntervalMs ?? opts.recoveryWindowMs / 4;
  }

  /**
   * How long a dropped till's session is kept. The till's resume point is its last session
   * mark, which may be up to one mark interval older than the drop, and Socket.IO forgets
   * packets older than this; adding the interval makes the promised window hold in the worst case.
   */
  private get sessionRetentionMs(): number {
    return this.opts.recoveryWindowMs + this.sessionMarkIntervalMs;
  }

  start(): void {
    if (this.io) throw new Error('TillGateway.start() called twice');
    const io = new Server<TillClientToServerEvents, TillSocketEvents, Record<string, never>, TillSocketData>(
      this.opts.httpServer,
      { connectionStateRecovery: { maxDisconnectionDuration: this.sessionRetentionMs, skipMiddlewares: false } },
    );
    const nsp = io.of(TILL_NAMESPACE);
    nsp.use((socket, next) => next(this.admit(socket)));
    nsp.on('connection', (socket) => this.onConnection(socket));
    this.io = io;
    this.nsp = nsp;
    this.markTimer = setInterval(() => this.markSessions(), this.sessionMarkIntervalMs);
    this.markTimer.unref();
  }

  /** Tills see a transport close and reconnect by themselves to the next process. */
  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  toLane<E extends TillEventName>(lane: string, event: E, body: TillEventBody<E>): void {
    // Before start (a camera reporting in) and while stopping (requests in flight still commit)
    // there is no till to tell: dropping the event beats turning a committed payment into a 500.
    if (!this.nsp || this.stopping) {
      this.opts.log.debug({ lane, event }, 'till event dropped: the till gateway is not running');
      return;
    }
    this.emitToLane(lane, event, this.stamp(lane, event, body));
  }

  toAllLanes<E extends TillEventName>(event: E, body: TillEventBody<E>): void {
    for (const lane of this.opts.lanes()) this.toLane(lane, event, body);
  }

  emitToLane<E extends TillEventName>(lane: string, event: E, payload: TillEventPayload<E>): void {
    const nsp = this.nsp;
    if (!nsp || this.stopping) throw new Error(`TillGateway is not running; cannot send ${event} to lane ${lane}`);
    const delivery: Delivery = { event, payload };
    this.dropExpiredSessions(Date.now());
    for (const session of this.parked.values()) {
      if (session.lane === lane) session.missed.push(delivery);
    }
    // A resuming till is in the room before it is connected; the parked copy above covers it.
    for (const id of nsp.adapter.rooms.get(laneRoom(lane)) ?? []) {
      const socket = nsp.sockets.get(id);
      if (socket) this.deliver(socket, delivery);
    }
  }

  stats(): TillGatewayStats {
    const byLane: Record<string, number> = {};
    for (const socket of this.nsp?.sockets.values() ?? []) {
      byLane[socket.data.lane] = (byLane[socket.data.lane] ?? 0) + 1;
    }
    return { connectedTills: this.nsp?.sockets.size ?? 0, byLane, ...this.counters };
  }

  private admit(socket: TillSocket): Error | undefined {
    const auth = socket.handshake.auth as Partial<Record<keyof TillHandshakeAuth, unknown>>;
    const address = socket.handshake.address;
    let principal: TillPrincipal | undefined;
    try {
      principal = typeof auth.token === 'string' && auth.token !== '' ? this.opts.authenticate(auth.token) : undefined;
    } catch (err) {
      this.opts.log.error({ err, address }, 'till authentication threw');
      return new Error(AUTH_FAILED_MESSAGE);
    }
    if (!principal || !TILL_ROLES.has(principal.role)) {
      this.opts.log.warn({ address }, 'till refused: token missing, invalid or not for tills');
      return new Error(TOKEN_REFUSED_MESSAGE);
    }
    const lanes = this.opts.lanes();
    const lane = typeof auth.lane === 'string' ? auth.lane : '';
    if (!lanes.includes(lane)) {
      this.opts.log.warn({ address, lane, tokenId: principal.tokenId }, 'till refused: unknown lane');
      const known = lanes.length > 0 ? `known lanes: ${lanes.join(', ')}` : 'no lanes are configured';
      return new Error(`unknown lane "${lane}"; connect with auth.lane set to one of the ${known}`);
    }
    socket.data = { lane, tokenId: principal.tokenId, role: principal.role };
    return undefined;
  }

  private onConnection(socket: TillSocket): void {
    const { lane, tokenId, role } = socket.data;
    // A resumed till gets its old rooms back even if it now asks for another lane.
    for (const room of socket.rooms) {
      if (room.startsWith(LANE_ROOM_PREFIX) && room !== laneRoom(lane)) void socket.leave(room);
    }
    void socket.join(laneRoom(lane));
    socket.on('disconnect', (reason) => this.onDisconnect(socket, reason));

    const now = Date.now();
    this.dropExpiredSessions(now);
    const session = this.parked.get(socket.id);
    this.parked.delete(socket.id);
    const replay = socket.recovered && session?.lane === lane ? session.missed : [];
    for (const delivery of replay) this.deliver(socket, delivery);
    // A resumed till has just been sent everything it missed; its screen is current already.
    if (replay.length === 0 && !socket.recovered) this.sendCurrentState(socket);
    this.sendMark(socket);

    this.opts.log.info(
      { lane, tokenId, role, recovered: socket.recovered, replayed: replay.length },
      'till connected',
    );
    this.opts.onConnectionsChanged?.(this.stats().connectedTills);
  }

  private onDisconnect(socket: TillSocket, reason: string): void {
    const { lane, tokenId } = socket.data;
    if (!this.stopping && !DELIBERATE_DISCONNECTS.has(reason)) {
      this.parked.set(socket.id, {
        lane,
        disconnectedAt: Date.now(),
        missed: [...(this.pending.get(socket) ?? [])],
      });
    }
    this.opts.log.info({ lane, tokenId, reason }, 'till disconnected');
    this.opts.onConnectionsChanged?.(this.stats().connectedTills);
  }

  private deliver(socket: TillSocket, delivery: Delivery): void {
    let pending = this.pending.get(socket);
    if (!pending) {
      pending = new Set();
      this.pending.set(socket, pending);
    }
    const unacked = pending;
    unacked.add(delivery);
    this.counters.eventsSent += 1;
    const onAck = (err: Error | null): void => {
      unacked.delete(delivery);
      if (!err) {
        this.counters.eventsAcked += 1;
        return;
      }
      this.counters.ackTimeouts += 1;
      this.opts.log.warn(
        { lane: socket.data.lane, tokenId: socket.data.tokenId, event: delivery.event, eventId: delivery.payload.eventId },
        'till did not acknowledge an event in time',
      );
    };
    // The typed emit cannot relate a generic event name to its payload, so it is widened here;
    // emitToLane's signature is what ties them together.
    const emitter = socket.timeout(this.opts.ackTimeoutMs) as unknown as {
      emit(event: string, payload: unknown, ack: (err: Error | null) => void): boolean;
    };
    emitter.emit(delivery.event, delivery.payload, onAck);
  }

  private sendCurrentState(socket: TillSocket): void {
    const { lane } = socket.data;
    let messages: TillMessage[];
    try {
      messages = this.opts.currentState?.(lane) ?? [];
    } catch (err) {
      this.opts.log.error({ err, lane }, 'the lane state for a joining till could not be read; the till gets it on the next change');
      return;
    }
    for (const { event, body } of messages) this.deliver(socket, { event, payload: this.stamp(lane, event, body) });
  }

  private stamp<E extends TillEventName>(lane: string, event: E, body: TillEventBody<E>): TillEventPayload<E> {
    return { ...body, eventId: randomUUID(), lane, at: new Date().toISOString() } as TillEventPayload<E>;
  }

  /** Socket.IO stores only unacknowledged packets, and resumes a till only from one of them. */
  private sendMark(socket: TillSocket): void {
    socket.emit('session:mark', { lane: socket.data.lane, at: new Date().toISOString() });
  }

  private markSessions(): void {
    const nsp = this.nsp;
    if (!nsp) return;
    this.dropExpiredSessions(Date.now());
    const at = new Date().toISOString();
    for (const room of nsp.adapter.rooms.keys()) {
      if (room.startsWith(LANE_ROOM_PREFIX)) {
        nsp.to(room).emit('session:mark', { lane: room.slice(LANE_ROOM_PREFIX.length), at });
      }
    }
  }

  private dropExpiredSessions(now: number): void {
    for (const [id, session] of this.parked) {
      if (session.disconnectedAt + this.sessionRetentionMs < now) this.parked.delete(id);
    }
  }

  private async close(): Promise<void> {
    clearInterval(this.markTimer);
    const io = this.io;
    if (!io) return;
    await io.close();
    this.parked.clear();
  }
}
