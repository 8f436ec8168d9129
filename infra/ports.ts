import net from 'node:net';

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port that was free a moment ago, chosen at random in [min, max]. The Temporal server stores its services' ports
 * in a `smallint` column (cluster_membership), so they must stay below 32768 — under the kernel's ephemeral range,
 * from which a plain `listen(0)` would pick. Every caller keeps below it for a second reason: the Temporal dev server
 * opens its internal services on ephemeral ports after we chose ours, and could otherwise take one of them.
 */
export async function freePortInRange(min = 20_000, max = 32_767, taken: Set<number> = new Set()): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    if (!taken.has(port) && (await tryListen(port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${min} and ${max}`);
}
