/**
 * healthcheckCommand asks the running Gantry's /ping; 0 when it answers 200 within 3 s. /ping says
 * 503 until every enabled provider has loaded its first configuration (api/readiness.ts), so a
 * container HEALTHCHECK keeps a replica that cannot route yet out of rotation.
 *
 * It runs every few seconds in every container, so it loads as little as it can: node:http, not
 * undici, and (see main.ts) none of the proxy's modules.
 */
import http from '../node-http.js';
import { apiBase } from './api-url.js';

const TIMEOUT_MS = 3000;

export async function healthcheckCommand(api: string): Promise<number> {
  const { base, headers } = apiBase(api);
  const url = new URL('/ping', base.origin);
  try {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(url, { headers, timeout: TIMEOUT_MS }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          if (text.length < 4096) text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.trim() }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      req.on('error', reject);
    });
    if (status === 200) {
      process.stdout.write(`OK: ${url.origin} answered ${body}\n`);
      return 0;
    }
    process.stderr.write(`unhealthy: ${url.href} answered ${status}${body ? `: ${body.slice(0, 300)}` : ''}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`unhealthy: ${url.href}: ${(err as Error).message}\n`);
    return 1;
  }
}
