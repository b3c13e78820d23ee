/**
 * gRPC through Gantry: a grpc-js client speaks h2c (prior knowledge) to Gantry, which forwards to
 * a grpc-js server over an `h2c://` server URL. Unary and server-streaming calls work, and the
 * trailers (grpc-status, grpc-message, custom metadata) arrive intact, errors included. Messages
 * are JSON here, with grpc-js's own serializer hooks: the transport is what is under test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
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
});
