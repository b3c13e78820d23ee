/**
 * healthcheckCommand asks the running Gantry's /ping; 0 when it answers 200 within 3 s. /ping says
 * 503 until every enabled provider has loaded its first configuration (api/readiness.ts), so a
 * container HEALTHCHECK keeps a replica that cannot route yet out of rotation.
 */
import { request } from 'undici';
import { apiBase } from './config.js';

export async function healthcheckCommand(api: string): Promise<number> {
  const { base, headers } = apiBase(api);
  const url = new URL('/ping', base.origin);
  try {
    const res = await request(url, { headers, headersTimeout: 3000, bodyTimeout: 3000 });
    const body = (await res.body.text()).trim();
    if (res.statusCode === 200) {
      process.stdout.write(`OK: ${url.origin} answered ${body}\n`);
      return 0;
    }
    process.stderr.write(`unhealthy: ${url.href} answered ${res.statusCode}${body ? `: ${body.slice(0, 300)}` : ''}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`unhealthy: ${url.href}: ${(err as Error).message}\n`);
    return 1;
  }
}
