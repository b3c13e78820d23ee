/** Small HTTP client helpers for tests (undici, keep-alive, any Host header). */
import { Agent, request } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';

export const agent = new Agent({ keepAliveTimeout: 2000, connections: 64 });

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function get(url: string, headers: Record<string, string> = {}, method = 'GET', body?: string | Buffer): Promise<Reply> {
  const res = await request(url, { method: method as 'GET', headers, body, dispatcher: agent, headersTimeout: 15_000, bodyTimeout: 15_000 });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: text };
}

/** getJSON returns the backend's JSON echo (or throws with the raw answer). */
export async function getJSON<T = { backend: string; url: string; headers: Record<string, string> }>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: T; headers: Reply['headers'] }> {
  const r = await get(url, headers);
  try {
    return { status: r.status, json: JSON.parse(r.body) as T, headers: r.headers };
  } catch {
    throw new Error(`not JSON (status ${r.status}): ${r.body}`);
  }
}
