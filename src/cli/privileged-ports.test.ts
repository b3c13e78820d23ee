import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canBindPrivilegedPorts } from './privileged-ports.js';

const status = (capEff: string) => `Name:\tnode\nUid:\t1000\t1000\t1000\t1000\nCapEff:\t${capEff}\n`;

test('root, CAP_NET_BIND_SERVICE or a low ip_unprivileged_port_start may bind :80', () => {
  assert.equal(canBindPrivilegedPorts({ uid: 0, status: null, unprivilegedPortStart: null }), true);
  // Bit 10 set (0x400), as with setcap cap_net_bind_service=+ep on the node binary.
  assert.equal(canBindPrivilegedPorts({ uid: 1000, status: status('0000000000000400'), unprivilegedPortStart: '1024\n' }), true);
  // Docker's default in a container with its own network namespace.
  assert.equal(canBindPrivilegedPorts({ uid: 1000, status: status('0000000000000000'), unprivilegedPortStart: '0\n' }), true);
  assert.equal(canBindPrivilegedPorts({ uid: 1000, status: status('0000000000000000'), unprivilegedPortStart: '80\n' }), true);
});

test('otherwise the unprivileged defaults apply', () => {
  // Every capability below CAP_NET_BIND_SERVICE, but not it.
  assert.equal(canBindPrivilegedPorts({ uid: 1000, status: status('00000000000003ff'), unprivilegedPortStart: '1024\n' }), false);
  assert.equal(canBindPrivilegedPorts({ uid: 1000, status: status('0000000000000000'), unprivilegedPortStart: '81' }), false);
  // No /proc (another OS): only root.
  assert.equal(canBindPrivilegedPorts({ uid: 1000, status: null, unprivilegedPortStart: null }), false);
  assert.equal(canBindPrivilegedPorts({ uid: undefined, status: null, unprivilegedPortStart: null }), false);
});
