import { connect, createServer, type Server, type Socket } from 'node:net';

interface Connection {
  readonly client: Socket;
  readonly upstream: Socket;
  held: boolean;
  readonly pending: Buffer[];
}

/**
 * A TCP proxy on 127.0.0.1 in front of the API server (TLS passes through untouched) that can hold
 * back what the server sends on the connections open at one moment, while new connections flow.
 * Holding the webhook's long-lived watch connection makes its ServiceAccount cache fall behind on
 * purpose, so a pod's lookup misses the cache and the live GET (on a new connection) must answer it.
 */
export class HoldingProxy {
  private readonly connections = new Set<Connection>();

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<HoldingProxy> {
    let proxy: HoldingProxy | undefined;
    const server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: targetPort });
      const connection: Connection = { client, upstream, held: false, pending: [] };
      proxy?.connections.add(connection);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        proxy?.connections.delete(connection);
      };
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => (connection.held ? connection.pending.push(chunk) : client.write(chunk)));
      for (const socket of [client, upstream]) {
        socket.on('error', close);
        socket.on('close', close);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new HoldingProxy(server);
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy is not listening');
    return address.port;
  }

  /** Holds back the server's bytes on every connection open now; returns how many there are. */
  holdOpenConnections(): number {
    for (const connection of this.connections) connection.held = true;
    return this.connections.size;
  }

  /** Delivers what was held back and lets every connection flow again. */
  release(): void {
    for (const connection of this.connections) {
      connection.held = false;
      for (const chunk of connection.pending.splice(0)) connection.client.write(chunk);
    }
  }

  close(): Promise<void> {
    for (const connection of this.connections) {
      connection.client.destroy();
      connection.upstream.destroy();
    }
    this.connections.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
