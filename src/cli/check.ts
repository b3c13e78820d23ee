/**
 * runCheck validates one configuration file, static or dynamic, and prints every problem with its
 * path (parse errors with line and column). It returns the exit code: 1 when anything is wrong,
 * 0 with a one-line summary otherwise. A dynamic file is checked alone, so its references
 * (router → service, router → middleware) must resolve within it, unless qualified (`x@docker`).
 */
import { readFile } from 'node:fs/promises';
import '../middlewares/index.js';
import { canonicalConfig, referenceErrors, validateDynamic } from '../config/dynamic/validate.js';
import { parseConfigText } from '../config/parse.js';
import { checkStaticData, staticSchema } from '../config/static/index.js';
import { closest } from '../config/suggest.js';
import { ParseError } from '../errors.js';

const DYNAMIC_KEYS = ['http', 'tcp', 'udp', 'tls'];
const STATIC_KEYS = Object.keys(staticSchema.shape);

type Kind = 'static' | 'dynamic';

export async function runCheck(file: string, out: NodeJS.WritableStream): Promise<number> {
  const print = (line: string) => out.write(line + '\n');
  let data: unknown;
  try {
    data = parseConfigText(await readFile(file, 'utf8'), file);
  } catch (e) {
    if (e instanceof ParseError) print(e.message);
    else print(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return 1;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    print(`${file}: expected a mapping at the top level`);
    return 1;
  }

  const { kind, mixed } = classify(Object.keys(data));
  const problems: string[] = [];
  if (mixed.length > 0) {
    problems.push(`${file}: mixes static options and dynamic sections (${mixed.join(', ')}); they belong in separate files`);
  }
  let summary: string;
  if (kind === 'static') {
    for (const e of checkStaticData(data, file)) problems.push(e.message);
    summary = staticSummary(data as Record<string, unknown>);
  } else {
    const { config, errors } = validateDynamic(data);
    for (const e of errors) problems.push(e.message);
    for (const e of referenceErrors(config, canonicalConfig(data))) problems.push(e.message);
    summary =
      `dynamic configuration: ${count(Object.keys(config.http.routers).length, 'router')}, ` +
      `${count(Object.keys(config.http.services).length, 'service')}, ${count(Object.keys(config.http.middlewares).length, 'middleware')}` +
      (Object.keys(config.tcp.routers).length > 0 ? `, ${count(Object.keys(config.tcp.routers).length, 'TCP router')}` : '') +
      (config.tls.certificates.length > 0 ? `, ${count(config.tls.certificates.length, 'certificate')}` : '');
  }

  if (problems.length > 0) {
    print(`${file}: ${count(problems.length, 'error')} in ${kind} configuration:`);
    for (const p of problems) print(`  ${p}`);
    return 1;
  }
  print(`${file}: ok (${summary})`);
  return 0;
}

/**
 * classify decides from the top-level keys whether the file is static (entryPoints, providers,
 * api, log …) or dynamic (http, tcp, udp, tls); a misspelt key counts for the side it is closest
 * to. With nothing to go by, the file is dynamic (an empty dynamic file is valid).
 */
function classify(keys: string[]): { kind: Kind; mixed: string[] } {
  const isDynamic = (k: string) => DYNAMIC_KEYS.includes(k.toLowerCase());
  const isStatic = (k: string) => STATIC_KEYS.some((s) => s.toLowerCase() === k.toLowerCase());
  const dynamicKeys = keys.filter(isDynamic);
  const staticKeys = keys.filter(isStatic);
  let staticScore = staticKeys.length;
  let dynamicScore = dynamicKeys.length;
  for (const k of keys) {
    if (isDynamic(k) || isStatic(k)) continue;
    const near = closest(k, [...STATIC_KEYS, ...DYNAMIC_KEYS]);
    if (near !== null && isStatic(near)) staticScore++;
    else if (near !== null) dynamicScore++;
  }
  const kind: Kind = staticScore > dynamicScore ? 'static' : 'dynamic';
  const mixed = staticKeys.length > 0 && dynamicKeys.length > 0 ? (kind === 'static' ? dynamicKeys : staticKeys) : [];
  return { kind, mixed };
}

function staticSummary(data: Record<string, unknown>): string {
  const get = (k: string) => Object.entries(data).find(([x]) => x.toLowerCase() === k.toLowerCase())?.[1];
  const eps = get('entryPoints');
  const providers = get('providers');
  const epNames = eps && typeof eps === 'object' ? Object.keys(eps) : [];
  const providerNames = providers && typeof providers === 'object' ? Object.keys(providers).filter((p) => p !== 'providersThrottleDuration') : [];
  return (
    `static configuration: entry points ${epNames.length > 0 ? epNames.join(', ') : '(defaults)'}` +
    (providerNames.length > 0 ? `; providers ${providerNames.join(', ')}` : '')
  );
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
