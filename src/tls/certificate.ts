/**
 * A loaded certificate: its PEM chain and key checked against each other, the names it covers
 * (subject alternative names, or the common name when there are none) and its validity. Errors
 * name the source (a file path, `acme:<resolver>` …) so that a user can find what to fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { GantryError } from '../errors.js';

/** TlsCertError is a certificate or key that cannot be used; the message names the file. */
export class TlsCertError extends GantryError {
  readonly source: string;
  constructor(source: string, message: string) {
    super(`${source}: ${message}`, 'GANTRY_ERR_TLS_CERT', 500);
    this.name = 'TlsCertError';
    this.source = source;
  }
}

export interface LoadedCertificate {
  /** Where it came from, for logs: a file path or `acme:<resolver>`. */
  source: string;
  certPem: string;
  keyPem: string;
  /** Lower-case DNS names, possibly `*.example.com`. */
  names: string[];
  notAfter: Date;
  notBefore: Date;
  /** SHA-256 fingerprint of the leaf. */
  fingerprint: string;
}

/** parseCertificate checks a PEM chain and key and reads the leaf's names; throws TlsCertError. */
export function parseCertificate(source: string, certPem: string, keyPem: string, keySource = source): LoadedCertificate {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (err) {
    throw new TlsCertError(source, `not a PEM certificate (${(err as Error).message})`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new TlsCertError(keySource, `not a PEM private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) throw new TlsCertError(keySource, `private key does not match the certificate ${source}`);
  const names = certNames(leaf);
  if (names.length === 0) throw new TlsCertError(source, 'certificate names no DNS name (no subjectAltName and no CN)');
  return { source, certPem, keyPem, names, notAfter: new Date(leaf.validTo), notBefore: new Date(leaf.validFrom), fingerprint: leaf.fingerprint256 };
}

/** loadCertificateFiles reads and checks a certFile/keyFile pair (relative to cwd). */
export function loadCertificateFiles(certFile: string, keyFile: string, cwd: string): LoadedCertificate {
  const cf = path.resolve(cwd, certFile);
  const kf = path.resolve(cwd, keyFile);
  const read = (f: string, what: string): string => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch (err) {
      throw new TlsCertError(f, `cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return parseCertificate(cf, read(cf, 'certificate'), read(kf, 'key'), kf);
}

function certNames(c: X509Certificate): string[] {
  const out: string[] = [];
  for (const part of (c.subjectAltName ?? '').split(',')) {
    const p = part.trim();
    if (p.startsWith('DNS:')) out.push(p.slice(4).toLowerCase());
  }
  if (out.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(c.subject);
    if (cn) out.push(cn[1]!.trim().toLowerCase());
  }
  return [...new Set(out)];
}

/** secureContextFor builds a Node secure context for a certificate with the given TLS options. */
export function secureContextFor(cert: Pick<LoadedCertificate, 'certPem' | 'keyPem'>, opts: tls.SecureContextOptions): tls.SecureContext {
  return tls.createSecureContext({ ...opts, cert: cert.certPem, key: cert.keyPem });
}
