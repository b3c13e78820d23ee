/** healthcheckCommand asks the running Gantry's /ping; 0 when it answers OK within 3 s. */
import { request } from 'undici';

export async function healthcheckCommand(api: string): Promise<number> {
  const url = new URL('/ping', api.includes('://') ? api : `http://${api}`);
  try {
    const res = await request(url, { headersTimeout: 3000, bodyTimeout: 3000 });
    const body = await res.body.text();
    if (res.statusCode === 200) {
      process.stdout.write(`OK: ${url.origin} answered ${body.trim()}\n`);
      return 0;
    }
    process.stderr.write(`unhealthy: ${url.href} answered ${res.statusCode}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`unhealthy: ${url.href}: ${(err as Error).message}\n`);
    return 1;
  }
}
