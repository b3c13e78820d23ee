/**
 * TLS options (`tls.options.<name>`, Traefik's model): protocol versions, cipher suites and
 * curves by their Go names (as Traefik users write them) mapped to OpenSSL's, ALPN protocols,
 * client authentication (mTLS) with CA files, and sniStrict. `compileTlsOptions` turns one
 * validated element into what a handshake needs; a CA file that cannot be read is an error that
 * names the option path (`tls.options.mtls@file.clientAuth.caFiles[0]: …`).
 */
import { constants } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';

/** Go crypto/tls version names → Node's. */
export const TLS_VERSIONS: Readonly<Record<string, tls.SecureVersion>> = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};

/**
 * Go crypto/tls cipher suite names → OpenSSL names. TLS 1.3 suites keep their IANA names, which
 * OpenSSL uses too (Node takes both kinds in `ciphers`). TLS_FALLBACK_SCSV is a signalling value,
 * not a suite: accepted and ignored, as Go does.
 */
export const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS_FALLBACK_SCSV: '',
};

/** Go curve names (and the aliases Traefik accepts) → OpenSSL group names. */
export const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  secp256r1: 'P-256',
  CurveP384: 'P-384',
  secp384r1: 'P-384',
  CurveP521: 'P-521',
  secp521r1: 'P-521',
  X25519: 'X25519',
  x25519: 'X25519',
  CurveX25519: 'X25519',
};

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** TlsOptionsConfig is one validated `tls.options.<name>` (see config/dynamic/schema.ts). */
export interface TlsOptionsConfig {
  minVersion?: string | undefined;
  maxVersion?: string | undefined;
  cipherSuites?: string[] | undefined;
  curvePreferences?: string[] | undefined;
  alpnProtocols?: string[] | undefined;
  clientAuth?: { caFiles?: string[] | undefined; clientAuthType?: ClientAuthType | undefined } | undefined;
  sniStrict?: boolean | undefined;
  preferServerCipherSuites?: boolean | undefined;
  disableSessionTickets?: boolean | undefined;
}

/** CompiledTlsOptions is what a handshake needs from one options set. */
export interface CompiledTlsOptions {
  /** Qualified name (`mtls@file`), or `default`. */
  name: string;
  /** Identifies equal options across snapshots, so secure contexts are reused. */
  key: string;
  /** Merged into every secure context built for these options. */
  context: tls.SecureContextOptions;
  /** ALPN protocols offered for HTTP on a TLS entrypoint, in preference order (Traefik's default: h2, http/1.1). */
  alpn: string[];
  clientAuth: ClientAuthType;
  sniStrict: boolean;
}

/** The options every connection gets when no `default` options are configured. */
export const BUILTIN_OPTIONS: CompiledTlsOptions = {
  name: 'default',
  key: 'builtin',
  context: { minVersion: 'TLSv1.2' },
  alpn: ['h2', 'http/1.1'],
  clientAuth: 'NoClientCert',
  sniStrict: false,
};

/** TlsOptionsError names the option path that is wrong. */
export class TlsOptionsError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'TlsOptionsError';
    this.path = path;
  }
}

/**
 * compileTlsOptions reads the CA files and maps names; throws TlsOptionsError naming the path
 * (`tls.options.<name>.<field>`). Names were checked by the schema; they are checked again here
 * because the API or a test may hand options in directly.
 */
export function compileTlsOptions(name: string, o: TlsOptionsConfig, cwd: string): CompiledTlsOptions {
  const at = `tls.options.${name}`;
  const context: tls.SecureContextOptions = { minVersion: 'TLSv1.2' };
  if (o.minVersion !== undefined) context.minVersion = version(o.minVersion, `${at}.minVersion`);
  if (o.maxVersion !== undefined) context.maxVersion = version(o.maxVersion, `${at}.maxVersion`);
  if (o.cipherSuites !== undefined && o.cipherSuites.length > 0) {
    const names = o.cipherSuites.map((c, i) => {
      const n = CIPHER_SUITES[c];
      if (n === undefined) throw new TlsOptionsError(`${at}.cipherSuites[${i}]`, `unknown cipher suite "${c}"`);
      return n;
    });
    const tls12 = names.filter((n) => n !== '' && !n.startsWith('TLS_'));
    const tls13 = names.filter((n) => n.startsWith('TLS_'));
    // As in Go, the list restricts TLS 1.2 and older; TLS 1.3 suites stay at their defaults
    // unless some are listed.
    context.ciphers = [...tls13, ...tls12].join(':');
    if (tls12.length === 0) context.ciphers += (context.ciphers ? ':' : '') + 'DEFAULT';
    context.honorCipherOrder = o.preferServerCipherSuites ?? true;
  }
  if (o.curvePreferences !== undefined && o.curvePreferences.length > 0) {
    context.ecdhCurve = o.curvePreferences
      .map((c, i) => {
        const n = CURVES[c];
        if (n === undefined) throw new TlsOptionsError(`${at}.curvePreferences[${i}]`, `unknown curve "${c}"`);
        return n;
      })
      .join(':');
  }
  // OpenSSL then issues no stateless tickets, and the stateful ones it falls back to cannot be
  // resumed either: Gantry keeps no server-side session cache. Resumption is off, as in Go.
  if (o.disableSessionTickets === true) context.secureOptions = constants.SSL_OP_NO_TICKET;
  const clientAuth = o.clientAuth?.clientAuthType ?? (o.clientAuth?.caFiles?.length ? 'RequireAndVerifyClientCert' : 'NoClientCert');
  const caFiles = o.clientAuth?.caFiles ?? [];
  if (caFiles.length > 0) {
    context.ca = caFiles.map((f, i) => {
      try {
        const pem = fs.readFileSync(path.resolve(cwd, f), 'utf8');
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
        return pem;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new TlsOptionsError(`${at}.clientAuth.caFiles[${i}]`, `cannot use CA file ${f}: ${code ?? (err as Error).message}`);
      }
    });
  } else if (clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert') {
    throw new TlsOptionsError(`${at}.clientAuth.caFiles`, `clientAuthType ${clientAuth} needs at least one CA file`);
  }
  // acme-tls/1 is answered before this (TLS-ALPN-01); only protocols Gantry serves are offered.
  const alpn = (o.alpnProtocols ?? ['h2', 'http/1.1']).filter((p) => p === 'h2' || p === 'http/1.1');
  const compiled = { name, context, alpn: alpn.length > 0 ? alpn : ['h2', 'http/1.1'], clientAuth, sniStrict: o.sniStrict === true };
  return { ...compiled, key: JSON.stringify(compiled) };
}

function version(v: string, at: string): tls.SecureVersion {
  const n = TLS_VERSIONS[v];
  if (n === undefined) throw new TlsOptionsError(at, `unknown TLS version "${v}" (use ${Object.keys(TLS_VERSIONS).join(', ')})`);
  return n;
}
