/**
 * More than one listening socket per entrypoint port (SO_REUSEPORT), so that a loaded process
 * accepts more than one connection per event-loop turn.
 *
 * libuv accepts one connection per readiness event of a listening socket (libuv #3696: no accept
 * loop). A turn of a loaded proxy takes milliseconds, so a burst of new connections queues in the
 * kernel: measured here, 256 connections opened at once against a busy worker were accepted 22 ms
 * apart, and their first requests waited up to 1.2 s. With N sockets on the port, the kernel
 * spreads new connections over them and each accepts one per turn: N per turn.
 *
 * A port shared by SO_REUSEPORT would also let a second Gantry (same user) bind it and silently
 * take half of the connections; `assertPortFree` keeps the usual EADDRINUSE for that case.
 */
import net from 'node:net';

/** Listening sockets per entrypoint (with --workers, the primary's; its workers accept on them too). */
export const ACCEPT_SOCKETS = 8;

/** reusePortAvailable: Node offers `reusePort` where the kernel balances connections across sockets. */
export const reusePortAvailable = process.platform === 'linux';

/**
 * assertPortFree binds the address without SO_REUSEPORT and closes it: it fails with EADDRINUSE
 * when any socket listens there, with or without SO_REUSEPORT.
 */
export async function assertPortFree(host: string | undefined, port: number): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ host, port }, () => {
      probe.off('error', reject);
      resolve();
    });
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/**
 * openAcceptSockets binds `count` more sockets on the port `target` listens on (it must listen with
 * reusePort) and passes every connection they accept to `target`, as if it had accepted it.
 */
export async function openAcceptSockets(target: net.Server, host: string | undefined, port: number, count: number): Promise<net.Server[]> {
  const extra: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      // The options node:http gives its own listening socket: half-open allowed, no Nagle.
      const s = net.createServer({ allowHalfOpen: true, noDelay: true });
      // `s` counts the connection (connectionCount below); node:http, when the socket reaches it,
      // makes `target` its server (clientError, timeouts).
      s.on('connection', (socket: net.Socket) => target.emit('connection', socket));
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ host, port, reusePort: true }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      extra.push(s);
    }
  } catch (err) {
    for (const s of extra) s.close();
    throw err;
  }
  return extra;
}

/** connectionCount is how many connections a server accepted that are still open. */
export function connectionCount(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.getConnections((err, n) => resolve(err ? 0 : n)));
}
