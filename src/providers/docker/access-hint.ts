/**
 * socketAccessHint explains a refused Docker socket: the image runs as uid 1000, and the socket
 * is its group's (usually `docker`), so a container without that group gets EACCES and the
 * provider never loads (/ping stays 503). The log line then says what to add.
 */
export function socketAccessHint(err: unknown, endpoint: string): string | undefined {
  if (!endpoint.startsWith('unix://')) return undefined;
  const e = err as { code?: string; cause?: { code?: string } } | null | undefined;
  if (e?.code !== 'EACCES' && e?.cause?.code !== 'EACCES') return undefined;
  const socket = endpoint.slice('unix://'.length);
  const uid = process.getuid?.();
  return `uid ${uid ?? '?'} may not open ${socket}: give the container the socket's group ` +
    `(docker run --group-add $(stat -c %g ${socket}); docker service create --group \u2026; user: "1000:<gid>" in a stack)`;
}
