/**
 * passTLSClientCert forwards the client's TLS certificate to the server in Traefik's headers
 * (`pkg/middlewares/passtlsclientcert`): with `pem`, X-Forwarded-Tls-Client-Cert holds each
 * certificate the client presented, PEM without its BEGIN/END lines and line breaks, separated by
 * commas; with `info`, X-Forwarded-Tls-Client-Cert-Info holds the selected fields of each,
 * URL-escaped: `Subject="C=FR,CN=x";Issuer="…";SerialNumber="…";NB="<unix>";NA="<unix>";SAN="…"`.
 *
 * Values a client sends in these headers are always removed first, certificate or not (Traefik
 * only overwrites them when there is a certificate): a backend that trusts the header must never
 * see one a client made up. The chain is the client's certificate and the intermediates it sent,
 * as far as OpenSSL reports them (a self-signed root is left out: clients do not send it). The
 * headers are computed once per connection.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket, DetailedPeerCertificate } from 'node:tls';
import * as z from '../../config/zod.js';
import type { MiddlewareFactory } from '../types.js';

const flag = z.boolean().optional();
const issuerSchema = z.strictObject({ country: flag, province: flag, locality: flag, organization: flag, commonName: flag, serialNumber: flag, domainComponent: flag });
const subjectSchema = issuerSchema.extend({ organizationalUnit: flag });

export const passTLSClientCertSchema = z.strictObject({
  pem: flag,
  info: z
    .strictObject({
      notAfter: flag,
      notBefore: flag,
      sans: flag,
      serialNumber: flag,
      subject: subjectSchema.optional(),
      issuer: issuerSchema.optional(),
    })
    .optional(),
});

export type PassTLSClientCertOptions = z.infer<typeof passTLSClientCertSchema>;
type DnFlags = z.infer<typeof subjectSchema>;

const CERT = 'x-forwarded-tls-client-cert';
const INFO = 'x-forwarded-tls-client-cert-info';

/** The chain's headers, cached per TLS socket: a connection's certificate never changes. */
const cache = new WeakMap<object, Map<string, string>>();

export const passTLSClientCert: MiddlewareFactory<PassTLSClientCertOptions> = {
  type: 'passTLSClientCert',
  schema: passTLSClientCertSchema,
  create(options, next) {
    const pem = options.pem === true;
    const info = options.info ?? null;
    const key = JSON.stringify(options);
    return (req, res, ctx) => {
      delete req.headers[CERT];
      delete req.headers[INFO];
      if (pem || info !== null) {
        const chain = peerChain(req.socket as TLSSocket | null);
        if (chain.length > 0) {
          let byOpts = cache.get(req.socket!);
          if (byOpts === undefined) cache.set(req.socket!, (byOpts = new Map()));
          let pemValue = byOpts.get(`pem`);
          if (pem && pemValue === undefined) byOpts.set('pem', (pemValue = chain.map(sanitize).join(',')));
          if (pem) req.headers[CERT] = pemValue;
          if (info !== null) {
            let infoValue = byOpts.get(key);
            if (infoValue === undefined) byOpts.set(key, (infoValue = queryEscape(chain.map((c) => certInfo(c, info)).join(','))));
            req.headers[INFO] = infoValue;
          }
        }
      }
      next(req, res, ctx);
    };
  },
};

/** peerChain is the client's certificate and the intermediates OpenSSL links it to, as X509Certificates. */
function peerChain(socket: TLSSocket | null): X509Certificate[] {
  if (socket === null || typeof socket.getPeerCertificate !== 'function') return [];
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  if (c === undefined || c === null || c.raw === undefined) return [];
  const out: X509Certificate[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  while (c !== undefined && c !== null && c.raw !== undefined && !seen.has(c)) {
    seen.add(c);
    const selfSigned = c.issuerCertificate === c || c.issuerCertificate === undefined;
    if (out.length > 0 && selfSigned) break;
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

/** sanitize is the PEM of a certificate without its armour lines and line breaks (Traefik's). */
function sanitize(c: X509Certificate): string {
  return c.raw.toString('base64');
}

/** certInfo renders one certificate's selected fields in Traefik's order and syntax. */
function certInfo(c: X509Certificate, info: NonNullable<PassTLSClientCertOptions['info']>): string {
  const values: string[] = [];
  if (info.subject !== undefined) {
    const s = distinguishedName(c.subject, info.subject, true);
    if (s !== '') values.push(`Subject="${s}"`);
  }
  if (info.issuer !== undefined) {
    const s = distinguishedName(c.issuer, info.issuer, false);
    if (s !== '') values.push(`Issuer="${s}"`);
  }
  if (info.serialNumber === true) values.push(`SerialNumber="${BigInt(`0x${c.serialNumber}`).toString()}"`);
  if (info.notBefore === true) values.push(`NB="${Math.floor(new Date(c.validFrom).getTime() / 1000)}"`);
  if (info.notAfter === true) values.push(`NA="${Math.floor(new Date(c.validTo).getTime() / 1000)}"`);
  if (info.sans === true) {
    const sans = subjectAltNames(c);
    if (sans.length > 0) values.push(`SAN="${sans.join(',')}"`);
  }
  return values.join(';');
}

/**
 * distinguishedName writes the asked parts of a DN as Go's pkix.Name gives them to Traefik:
 * DC first, then C, ST, L, O, OU (subject only), SN, CN, each `K=v`, comma-separated.
 */
function distinguishedName(text: string, f: DnFlags, subject: boolean): string {
  const parts = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const k = line.slice(0, eq);
    const list = parts.get(k) ?? [];
    list.push(line.slice(eq + 1));
    parts.set(k, list);
  }
  const out: string[] = [];
  const add = (on: boolean | undefined, key: string, label: string, first = false) => {
    if (on !== true) return;
    const vals = (parts.get(key) ?? []).filter((v) => v !== '');
    for (const v of first ? vals.slice(0, 1) : vals) out.push(`${label}=${v}`);
  };
  add(f.domainComponent, 'DC', 'DC');
  add(f.country, 'C', 'C');
  add(f.province, 'ST', 'ST');
  add(f.locality, 'L', 'L');
  add(f.organization, 'O', 'O');
  if (subject) add(f.organizationalUnit, 'OU', 'OU');
  // pkix.Name keeps one serialNumber and one CN (the last, as Go fills the field attribute by attribute).
  add(f.serialNumber, 'serialNumber', 'SN', true);
  add(f.commonName, 'CN', 'CN', true);
  return out.join(',');
}

/** subjectAltNames in Go's order: DNS names, e-mail addresses, IP addresses, URIs. */
function subjectAltNames(c: X509Certificate): string[] {
  const dns: string[] = [];
  const email: string[] = [];
  const ip: string[] = [];
  const uri: string[] = [];
  for (const part of (c.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4));
    else if (part.startsWith('email:')) email.push(part.slice(6));
    else if (part.startsWith('IP Address:')) ip.push(part.slice(11));
    else if (part.startsWith('URI:')) uri.push(part.slice(4));
  }
  return [...dns, ...email, ...ip, ...uri];
}

/** queryEscape is Go's url.QueryEscape: spaces become `+`, everything but unreserved characters is %-encoded. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}
