import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFlat } from './decode.js';

test('decodeFlat: servers transports from flat keys (etcd), typed and case-insensitive', () => {
  const res = decodeFlat(
    {
      'gantry.http.serversTransports.mtls.serverName': 'api.internal',
      'gantry.http.serverstransports.mtls.insecureskipverify': 'false',
      'gantry.http.serversTransports.mtls.rootCAs[0]': '/ca.pem',
      'gantry.http.serversTransports.mtls.certificates[0].certFile': '/c.pem',
      'gantry.http.serversTransports.mtls.certificates[0].keyFile': '/k.pem',
      'gantry.http.serversTransports.mtls.maxIdleConnsPerHost': '-1',
      'gantry.http.serversTransports.mtls.forwardingTimeouts.dialTimeout': '2s',
      'gantry.tcp.serversTransports.db.terminationDelay': '-1',
      'gantry.tcp.serversTransports.db.tls.serverName': 'db.internal',
      'gantry.tcp.services.db.loadBalancer.serversTransport': 'db',
    },
    'gantry',
  );
  assert.deepEqual(res.errors, []);
  assert.deepEqual(res.config, {
    http: { serversTransports: { mtls: { serverName: 'api.internal', insecureSkipVerify: false, rootCAs: ['/ca.pem'], certificates: [{ certFile: '/c.pem', keyFile: '/k.pem' }], maxIdleConnsPerHost: -1, forwardingTimeouts: { dialTimeout: '2s' } } } },
    tcp: { serversTransports: { db: { terminationDelay: '-1', tls: { serverName: 'db.internal' } } }, services: { db: { loadBalancer: { serversTransport: 'db' } } } },
  });
});
