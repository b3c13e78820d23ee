/**
 * `gantry reconfigure --service-name N --service-path P [--port N] [--service-domain D] [--api URL]`:
 * Docker Flow Proxy's reconfigure call, made through the running Gantry's API.
 */
import { apiCall } from './config.js';

export interface ReconfigureOptions {
  serviceName: string;
  servicePath?: string;
  port?: string;
  serviceDomain?: string;
  api: string;
}

/** printAnswer prints a Docker Flow Proxy answer; 0 when its Status is OK. */
export function printAnswer(cmd: string, status: number, body: string): number {
  let parsed: { Status?: string; Message?: string } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    // Not JSON: print it as it is.
  }
  if (status === 200 && parsed.Status === 'OK') {
    process.stdout.write(body.endsWith('\n') ? body : body + '\n');
    return 0;
  }
  process.stderr.write(`gantry ${cmd}: ${status}: ${parsed.Message ?? body.trim()}\n`);
  return 1;
}

export async function reconfigureCommand(opts: ReconfigureOptions): Promise<number> {
  const q = new URLSearchParams({ serviceName: opts.serviceName });
  if (opts.servicePath !== undefined) q.set('servicePath', opts.servicePath);
  if (opts.port !== undefined) q.set('port', opts.port);
  if (opts.serviceDomain !== undefined) q.set('serviceDomain', opts.serviceDomain);
  try {
    const res = await apiCall(opts.api, `/v1/docker-flow-proxy/reconfigure?${q}`, 'PUT');
    return printAnswer('reconfigure', res.status, res.body);
  } catch (err) {
    process.stderr.write(`gantry reconfigure: cannot reach the API at ${opts.api}: ${(err as Error).message}\n`);
    return 1;
  }
}
