import { io, type Socket } from 'socket.io-client';

export interface TillEvent {
  name: string;
  payload: any;
}

/**
 * A till screen on `lane`, as the till page connects: it acknowledges every event and records
 * each one (not the session marks, which carry no event) into `events`. Resolves once connected.
 */
export async function recordingTill(url: string, token: string, lane: string, events: TillEvent[] = []): Promise<{ socket: Socket; events: TillEvent[] }> {
  const socket = io(`${url}/till`, { auth: { token, lane }, transports: ['websocket'] });
  socket.onAny((name: string, payload: unknown, ack?: unknown) => {
    if (name !== 'session:mark') events.push({ name, payload });
    if (typeof ack === 'function') ack();
  });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return { socket, events };
}
