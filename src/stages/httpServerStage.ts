import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stage } from '../core/stage.js';

/**
 * Listens once everything the routes call is built. The till gateway shares the server and
 * closes it when it stops (Socket.IO's shutdown does), so this stage only closes it when the
 * gateway has not.
 */
export class HttpServerStage implements Stage {
  readonly name = 'http server';

  constructor(private readonly deps: { server: Server; host: string; port: number }) {}

  async start(): Promise<void> {
    const { server, host, port } = this.deps;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    const { server } = this.deps;
    if (!server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The URL a person on this PC opens; 0.0.0.0 listens everywhere, including loopback. */
  url(): { url: string; port: number } {
    const { port } = this.deps.server.address() as AddressInfo;
    const host = this.deps.host === '0.0.0.0' ? '127.0.0.1' : this.deps.host;
    return { url: `http://${host}:${port}`, port };
  }
}
