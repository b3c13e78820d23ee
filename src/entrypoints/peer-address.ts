/**
 * The client's address as Gantry keeps it. A fast-lane connection reads it once and keeps the two
 * values itself; node's own cached copy is then dropped, and equal address strings are shared, so
 * that an idle keep-alive connection does not hold ~90 bytes of the same address twice.
 */
import type { Socket } from 'node:net';

/** unmapIPv4 gives an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as the IPv4 address it maps. */
export function unmapIPv4(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

let lastAddress = '';

/**
 * sharedAddress returns `addr`, or the equal string it returned last: the connections of one
 * client (a load balancer in front of Gantry, a benchmark) share one copy instead of one each.
 */
export function sharedAddress(addr: string): string {
  if (addr === lastAddress) return lastAddress;
  lastAddress = addr;
  return addr;
}

type PeerCachingSocket = Socket & { _peername?: unknown };

/**
 * forgetCachedPeer drops the `{ address, family, port }` object node:net caches on a socket the
 * first time its remoteAddress or remotePort is read, and keeps for the socket's life (56 bytes,
 * and 32 for the address string). A later read asks the kernel again (one getpeername call):
 * only node:http does, after a hand-off. Only a socket that has such a cache is touched, so a
 * node without it gets no property added.
 */
export function forgetCachedPeer(socket: Socket): void {
  const s = socket as PeerCachingSocket;
  if (s._peername !== undefined) s._peername = undefined;
}
