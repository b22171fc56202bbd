import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  url: string;
  /** Cuts every open connection and refuses new ones (the shop's internet is down). */
  cut(): void;
  /** Lets connections through again; `onRequest` sees each chunk the client sends before it goes on. */
  restore(onRequest?: (chunk: Buffer) => void): void;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 in front of `targetPort`, whose link a test can cut and restore. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let up = true;
  let onRequest: ((chunk: Buffer) => void) | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk) => {
      onRequest?.(chunk);
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const cut = () => {
    up = false;
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    cut,
    restore(hook) {
      onRequest = hook;
      up = true;
    },
    async close() {
      cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
