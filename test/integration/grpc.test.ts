/**
 * gRPC through Gantry: a grpc-js client speaks h2c (prior knowledge) to Gantry, which forwards to
 * a grpc-js server over an `h2c://` server URL. Unary and server-streaming calls work, and the
 * trailers (grpc-status, grpc-message, custom metadata) arrive intact, errors included. Messages
 * are JSON here, with grpc-js's own serializer hooks: the transport is what is under test.
 * The grpcWeb middleware lets an HTTP/1.1 gRPC-Web client (what a browser sends: binary or base64
 * text mode, CORS) call the same server: its frames and trailers are checked byte by byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import { startWithFile, type GantryProcess } from '../helpers/gantry.js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
const service: grpc.ServiceDefinition = {
  echo: { path: '/gantry.test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  count: { path: '/gantry.test.Echo/Count', requestStream: false, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
};

type Echo = { text: string; fail?: boolean };

describe('gRPC through Gantry', { timeout: 30_000 }, () => {
  let server: grpc.Server;
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  before(async () => {
    server = new grpc.Server();
    server.addService(service, {
      echo: (call: grpc.ServerUnaryCall<Echo, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const md = new grpc.Metadata();
        md.set('x-served-by', 'grpc-js');
        call.sendMetadata(md);
        if (call.request.fail) return cb({ code: grpc.status.NOT_FOUND, details: `no such thing: ${call.request.text}` });
        cb(null, { text: `echo: ${call.request.text}`, authority: call.getPath() });
      },
      count: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
        for (let i = 1; i <= call.request.n; i++) call.write({ i });
        const trailer = new grpc.Metadata();
        trailer.set('x-count', String(call.request.n));
        call.end(trailer);
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const yaml = `http:
  routers:
    grpc: { rule: PathPrefix(\`/gantry.test.Echo/\`), service: grpc }
    web: { rule: Host(\`web.test\`) && PathPrefix(\`/gantry.test.Echo/\`), service: grpc, middlewares: [gw], priority: 1000 }
  middlewares:
    gw: { grpcWeb: { allowOrigins: ["https://app.test"] } }
  services:
    grpc: { loadBalancer: { servers: [{ url: "h2c://127.0.0.1:${port}" }] } }
`;
    ({ g, cleanup } = await startWithFile(yaml, ['--entrypoints.web.http2.h2c']));
    const Client = grpc.makeGenericClientConstructor(service, 'Echo');
    client = new Client(`127.0.0.1:${g.port()}`, grpc.credentials.createInsecure()) as typeof client;
  });
  after(async () => {
    client?.close();
    await cleanup?.();
    await new Promise<void>((r) => (server ? server.tryShutdown(() => r()) : r()));
  });

  it('makes a unary call, with its metadata', async () => {
    let headers: grpc.Metadata | null = null;
    const reply = await new Promise<{ text: string }>((resolve, reject) => {
      const call = client.echo({ text: 'hello' }, (err: grpc.ServiceError | null, r: { text: string }) => (err ? reject(err) : resolve(r))) as grpc.ClientUnaryCall;
      call.on('metadata', (m: grpc.Metadata) => (headers = m));
    });
    assert.equal(reply.text, 'echo: hello');
    assert.deepEqual((headers as grpc.Metadata | null)?.get('x-served-by'), ['grpc-js']);
  });

  it('passes a gRPC error status and message on in the trailers', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) => client.echo({ text: 'widget', fail: true }, (e: grpc.ServiceError | null) => resolve(e!)));
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.equal(err.details, 'no such thing: widget');
  });

  it('streams from the server, trailers intact', async () => {
    const call = client.count({ n: 50 }) as grpc.ClientReadableStream<{ i: number }>;
    const got: number[] = [];
    let status: grpc.StatusObject | null = null;
    await new Promise<void>((resolve, reject) => {
      call.on('data', (m: { i: number }) => got.push(m.i));
      call.on('status', (s: grpc.StatusObject) => {
        status = s;
        resolve();
      });
      call.on('error', reject);
    });
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i + 1));
    const s = status as grpc.StatusObject | null;
    assert.equal(s?.code, grpc.status.OK);
    assert.deepEqual(s?.metadata.get('x-count'), ['50']);
  });

  /** web sends one gRPC-Web call over HTTP/1.1 and returns the answer's head and body bytes. */
  const web = (path: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const { ':method': method, ...rest } = headers;
      const req = http.request({ host: '127.0.0.1', port: g.port(), method: method ?? 'POST', path, headers: { host: 'web.test', ...rest }, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const frame = (msg: unknown): Buffer => {
    const b = Buffer.from(JSON.stringify(msg));
    const f = Buffer.alloc(5 + b.length);
    f.writeUInt32BE(b.length, 1);
    b.copy(f, 5);
    return f;
  };
  /** frames splits a gRPC-Web body into its messages and its trailer frame's lines. */
  const frames = (body: Buffer): { messages: unknown[]; trailers: Record<string, string> | null } => {
    const messages: unknown[] = [];
    let trailers: Record<string, string> | null = null;
    for (let pos = 0; pos < body.length; ) {
      const flag = body[pos]!;
      const len = body.readUInt32BE(pos + 1);
      const data = body.subarray(pos + 5, pos + 5 + len);
      assert.equal(data.length, len, 'a whole frame');
      if (flag & 0x80) {
        assert.equal(pos + 5 + len, body.length, 'the trailer frame is the last');
        trailers = {};
        for (const line of data.toString('latin1').split('\r\n').filter(Boolean)) {
          const i = line.indexOf(':');
          trailers[line.slice(0, i)] = line.slice(i + 1).trim();
        }
      } else messages.push(JSON.parse(data.toString()));
      pos += 5 + len;
    }
    return { messages, trailers };
  };

  it('grpcWeb: a binary gRPC-Web unary call over HTTP/1.1, trailers as the last frame', async () => {
    const r = await web('/gantry.test.Echo/Echo', frame({ text: 'web' }), { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', origin: 'https://app.test' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/grpc-web+proto');
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.test');
    assert.match(String(r.headers['access-control-expose-headers']), /grpc-status/);
    assert.equal(r.headers['x-served-by'], 'grpc-js', 'metadata stays in the head');
    const f = frames(r.body);
    assert.deepEqual(f.messages, [{ text: 'echo: web', authority: '/gantry.test.Echo/Echo' }]);
    assert.equal(f.trailers?.['grpc-status'], '0');
  });

  it('grpcWeb: text mode (base64 both ways), a server stream with custom trailers', async () => {
    const r = await web('/gantry.test.Echo/Count', Buffer.from(frame({ n: 4 }).toString('base64')), { 'content-type': 'application/grpc-web-text', accept: 'application/grpc-web-text' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/grpc-web-text+proto');
    assert.equal(r.headers['access-control-allow-origin'], undefined, 'no Origin, no CORS');
    const body = r.body.toString('latin1');
    assert.match(body, /^[A-Za-z0-9+/]+={0,2}$/, 'base64 only');
    const f = frames(Buffer.from(body, 'base64'));
    assert.deepEqual(f.messages, [{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
    assert.equal(f.trailers?.['grpc-status'], '0');
    assert.equal(f.trailers?.['x-count'], '4');
  });

  it('grpcWeb: an error status reaches the client; a body that is not base64 is a 400', async () => {
    const r = await web('/gantry.test.Echo/Echo', frame({ text: 'gadget', fail: true }), { 'content-type': 'application/grpc-web' });
    assert.equal(r.status, 200);
    // grpc-js answers errors trailers-only: the status is in the head, or in a last frame.
    const f = frames(r.body);
    const status = r.headers['grpc-status'] ?? f.trailers?.['grpc-status'];
    const message = r.headers['grpc-message'] ?? f.trailers?.['grpc-message'];
    assert.equal(status, String(grpc.status.NOT_FOUND));
    assert.equal(decodeURIComponent(String(message)), 'no such thing: gadget');
    assert.deepEqual(f.messages, []);
    const bad = await web('/gantry.test.Echo/Echo', Buffer.from('not*base64!'), { 'content-type': 'application/grpc-web-text' });
    assert.equal(bad.status, 400);
  });

  it('grpcWeb: CORS preflight for allowed origins only', async () => {
    const ok = await web('/gantry.test.Echo/Echo', Buffer.alloc(0), { ':method': 'OPTIONS', origin: 'https://app.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web' });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.test');
    assert.equal(ok.headers['access-control-allow-headers'], 'content-type,x-grpc-web');
    assert.match(String(ok.headers['access-control-allow-methods']), /POST/);
    const no = await web('/gantry.test.Echo/Echo', Buffer.alloc(0), { ':method': 'OPTIONS', origin: 'https://evil.test', 'access-control-request-method': 'POST' });
    assert.equal(no.status, 403);
    assert.equal(no.headers['access-control-allow-origin'], undefined);
  });
});
