import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP server the test controls. */
export interface FaultServer {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

function listen(server: Server, port = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      resolve(`http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}`);
    });
  });
}

function closer(server: Server, sockets: Set<Socket>) {
  return () =>
    new Promise<void>((done) => {
      for (const s of sockets) s.destroy();
      server.close(() => done());
    });
}

/**
 * A proxy to `target` that passes the first `afterBytes` bytes of each reply and then drops both
 * connections: a gateway reply cut mid-body, as a lost connection or a killed gateway leaves it.
 */
export async function cuttingProxy(target: string, afterBytes: number): Promise<FaultServer> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server = createServer((client) => {
    state.connections++;
    const up = connect({ host: t.hostname, port: Number(t.port) });
    sockets.add(client).add(up);
    let passed = 0;
    client.on('data', (b) => up.write(b));
    up.on('data', (b: Buffer) => {
      const room = afterBytes - passed;
      if (room <= 0) return;
      passed += b.length;
      if (b.length < room) client.write(b);
      else client.end(b.subarray(0, room), () => client.destroy());
      if (passed >= afterBytes) up.destroy();
    });
    const drop = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  const url = await listen(server);
  return {
    url,
    get connections() {
      return state.connections;
    },
    close: closer(server, sockets),
  };
}

/**
 * A server that accepts requests and never answers (a reply lost after the request was sent), or with
 * `drop` closes the connection as soon as a request arrived (a connection lost mid-request).
 */
export async function silentServer(drop = false): Promise<FaultServer & { requests: number }> {
  const sockets = new Set<Socket>();
  const state = { connections: 0, requests: 0 };
  const server = createServer((s) => {
    state.connections++;
    sockets.add(s);
    s.on('data', (b: Buffer) => {
      state.requests += (b.toString('latin1').match(/^(GET|POST|DELETE) /gm) ?? []).length;
      if (drop) s.destroy();
    });
    s.on('error', () => {});
  });
  const url = await listen(server);
  return {
    url,
    get connections() {
      return state.connections;
    },
    get requests() {
      return state.requests;
    },
    close: closer(server, sockets),
  };
}

/** A loopback port in this suite's range (18300-18399) that nothing listens on right now. */
export async function closedPort(): Promise<number> {
  for (let port = 18300 + Math.floor(Math.random() * 50); port < 18400; port++) {
    const server = createServer();
    const ok = await listen(server, port).then(
      () => true,
      () => false,
    );
    if (ok) {
      await new Promise<void>((done) => server.close(() => done()));
      return port;
    }
  }
  throw new Error('no free port in 18300-18399');
}
