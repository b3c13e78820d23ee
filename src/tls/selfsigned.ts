/**
 * generateSelfSigned makes the default certificate a TLS entrypoint serves for names it has no
 * certificate for (as Traefik's "TRAEFIK DEFAULT CERT"). It is made in-process at start with
 * node:crypto and a few lines of DER (src/tls/der.ts), never read from disk: an X.509 library
 * would cost several MB of memory for one certificate.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { bitString, boolean, contextExplicit, integer, octetString, oid, sequence, set, time, utf8String } from './der.js';

export interface PemPair {
  certPem: string;
  keyPem: string;
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid('2.5.4.3'), utf8String(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

export async function generateSelfSigned(commonName = 'GANTRY DEFAULT CERT', days = 365): Promise<PemPair> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const serial = randomBytes(8);
  serial[0] = serial[0]! & 0x7f || 1; // positive and non-zero (RFC 5280 §4.1.2.2)
  const tbs = sequence(
    contextExplicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ECDSA_WITH_SHA256,
    name(commonName),
    sequence(time(new Date(now - 60_000)), time(new Date(now + days * 86_400_000))),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    contextExplicit(3, sequence(
      extension('2.5.29.19', true, sequence()), // basicConstraints: not a CA
      extension('2.5.29.15', true, bitString(Buffer.from([0xa0]), 5)), // keyUsage: digitalSignature, keyEncipherment
      extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
    )),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const cert = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
  return { certPem: pem('CERTIFICATE', cert), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
