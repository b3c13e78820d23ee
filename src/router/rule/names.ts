/**
 * The matcher names of each rule kind with their arities, as in Traefik v3
 * (pkg/muxer/http/matcher.go `httpFuncs`, pkg/muxer/tcp/matcher.go `tcpFuncs`).
 */
export type RuleKind = 'http' | 'tcp';

/** Arity lists the argument counts a matcher accepts. */
export type Arity = readonly number[];

export const HTTP_MATCHERS: ReadonlyMap<string, Arity> = new Map<string, Arity>([
  ['ClientIP', [1]],
  ['Method', [1]],
  ['Host', [1]],
  ['HostRegexp', [1]],
  ['Path', [1]],
  ['PathRegexp', [1]],
  ['PathPrefix', [1]],
  ['Header', [2]],
  ['HeaderRegexp', [2]],
  ['Query', [1, 2]],
  ['QueryRegexp', [1, 2]],
]);

export const TCP_MATCHERS: ReadonlyMap<string, Arity> = new Map<string, Arity>([
  ['ALPN', [1]],
  ['ClientIP', [1]],
  ['HostSNI', [1]],
  ['HostSNIRegexp', [1]],
]);

export function matchersOf(kind: RuleKind): ReadonlyMap<string, Arity> {
  return kind === 'http' ? HTTP_MATCHERS : TCP_MATCHERS;
}

function titleLower(name: string): string {
  const l = name.toLowerCase();
  return l.charAt(0).toUpperCase() + l.slice(1);
}

/**
 * Traefik registers each matcher under four spellings (pkg/rules/parser.go NewParser): as
 * declared, lower-case, upper-case, and title-cased lower-case (`Pathprefix`). Any other
 * spelling is an unknown function there, and here.
 */
function aliases(table: ReadonlyMap<string, Arity>): Map<string, string> {
  const m = new Map<string, string>();
  for (const name of table.keys()) {
    for (const alias of [name, name.toLowerCase(), name.toUpperCase(), titleLower(name)]) m.set(alias, name);
  }
  return m;
}

const HTTP_ALIASES = aliases(HTTP_MATCHERS);
const TCP_ALIASES = aliases(TCP_MATCHERS);

/** canonicalMatcherName returns the declared name for an accepted spelling, or null. */
export function canonicalMatcherName(kind: RuleKind, written: string): string | null {
  return (kind === 'http' ? HTTP_ALIASES : TCP_ALIASES).get(written) ?? null;
}

/** arityText renders an arity for messages: "1 argument", "2 arguments", "1 or 2 arguments". */
export function arityText(arity: Arity): string {
  const nums = arity.join(' or ');
  return `${nums} argument${arity.length === 1 && arity[0] === 1 ? '' : 's'}`;
}

function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/**
 * unknownMatcherHint explains an unknown name: a same-name matcher of the other kind
 * (HostSNI in an HTTP rule), a case-only difference, or the closest valid name.
 */
export function unknownMatcherHint(kind: RuleKind, written: string): string {
  const table = matchersOf(kind);
  const other = kind === 'http' ? TCP_MATCHERS : HTTP_MATCHERS;
  const lower = written.toLowerCase();
  for (const name of table.keys()) {
    if (name.toLowerCase() === lower) return ` (did you mean "${name}"? matcher names are case-sensitive)`;
  }
  for (const name of other.keys()) {
    if (name.toLowerCase() === lower) {
      return kind === 'http' ? ` (${name} is a TCP matcher; HTTP rules use ${name === 'HostSNI' ? 'Host' : name === 'HostSNIRegexp' ? 'HostRegexp' : 'HTTP matchers'})` : ` (${name} is an HTTP matcher; TCP rules use HostSNI, HostSNIRegexp, ClientIP, ALPN)`;
    }
  }
  let best: string | null = null;
  let bestD = Infinity;
  for (const name of table.keys()) {
    const d = distance(lower, name.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  if (best !== null && bestD <= Math.max(2, Math.floor(best.length / 3))) return ` (did you mean "${best}"?)`;
  return ` (valid ${kind.toUpperCase()} matchers: ${[...table.keys()].join(', ')})`;
}
