/** `gantry remove --service-name N [--api URL]`: Docker Flow Proxy's remove call through the running Gantry's API. */
import { apiCall } from './config.js';
import { printAnswer } from './reconfigure.js';

export async function removeCommand(opts: { serviceName: string; api: string }): Promise<number> {
  const q = new URLSearchParams({ serviceName: opts.serviceName });
  try {
    const res = await apiCall(opts.api, `/v1/docker-flow-proxy/remove?${q}`, 'PUT');
    return printAnswer('remove', res.status, res.body);
  } catch (err) {
    process.stderr.write(`gantry remove: cannot reach the API at ${opts.api}: ${(err as Error).message}\n`);
    return 1;
  }
}
