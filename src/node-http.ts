/**
 * node:http, loaded with require. On Node 24 an ESM import of node:http builds the module's ESM
 * facade, which reads every export — the lazy `WebSocket`, `CloseEvent` and `MessageEvent` getters
 * included — and so loads Node's bundled undici: ~13 MiB of RSS in every process, none of it used
 * (measured: a process importing node:http has 58 MiB RSS, one requiring it 45 MiB). Runtime code
 * takes node:http from here; `import type` from 'node:http' costs nothing and stays as it is.
 */
import { createRequire } from 'node:module';
import type * as nodeHttp from 'node:http';

const http: typeof nodeHttp = createRequire(import.meta.url)('node:http');
export default http;

export const STATUS_CODES = http.STATUS_CODES;
export const IncomingMessage = http.IncomingMessage;
export type IncomingMessage = nodeHttp.IncomingMessage;
export const ServerResponse = http.ServerResponse;
export type ServerResponse<Request extends nodeHttp.IncomingMessage = nodeHttp.IncomingMessage> = nodeHttp.ServerResponse<Request>;
