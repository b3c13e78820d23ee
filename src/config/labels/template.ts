/**
 * A tiny evaluator for the Go-template subset Traefik's `defaultRule` uses:
 * ``Host(`{{ normalize .Name }}.{{ .Domain }}`)``, `{{ index .Labels "com.example.x" }}`.
 * Actions hold one field (`.Name`) or one function applied to fields and string literals
 * (`normalize`, `lower`, `upper`, `index`). Anything else is an error at evaluation time.
 */
export interface TemplateData {
  Name: string;
  Domain: string;
  Labels: Record<string, string>;
  [field: string]: unknown;
}

export const DEFAULT_RULE = 'Host(`{{ normalize .Name }}.{{ .Domain }}`)';

/** normalize replaces every run of characters other than letters and digits by '-' (Traefik's provider.Normalize). */
export function normalize(name: string): string {
  return name
    .split(/[^\p{L}\p{N}]+/u)
    .filter((s) => s !== '')
    .join('-');
}

export class TemplateError extends Error {}

/** renderTemplate evaluates text against data; it throws TemplateError naming the bad action. */
export function renderTemplate(text: string, data: TemplateData): string {
  let out = '';
  let at = 0;
  for (;;) {
    const open = text.indexOf('{{', at);
    if (open < 0) return out + text.slice(at);
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`unclosed action at ${open + 1}`);
    out += text.slice(at, open);
    let inner = text.slice(open + 2, close);
    // Go's {{- and -}} trim markers: accept them, trimming is irrelevant in a one-line rule.
    if (inner.startsWith('-')) inner = inner.slice(1);
    if (inner.endsWith('-')) inner = inner.slice(0, -1);
    out += stringify(evalAction(inner, data));
    at = close + 2;
  }
}

function tokenize(action: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+)/y;
  let at = 0;
  for (;;) {
    re.lastIndex = at;
    const m = re.exec(action);
    if (m === null) break;
    tokens.push(m[1]!);
    at = re.lastIndex;
  }
  if (action.slice(at).trim() !== '') throw new TemplateError(`cannot parse {{${action}}}`);
  return tokens;
}

function evalAction(action: string, data: TemplateData): unknown {
  const tokens = tokenize(action);
  if (tokens.length === 0) throw new TemplateError('empty action {{}}');
  const [head, ...args] = tokens as [string, ...string[]];
  if (args.length === 0) return operand(head, data, action);
  const vals = args.map((a) => operand(a, data, action));
  switch (head) {
    case 'normalize':
      return normalize(stringify(vals[0]));
    case 'lower':
      return stringify(vals[0]).toLowerCase();
    case 'upper':
      return stringify(vals[0]).toUpperCase();
    case 'index': {
      let v: unknown = vals[0];
      for (const k of vals.slice(1)) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[stringify(k)] : undefined;
      return v ?? '';
    }
    default:
      throw new TemplateError(`unknown function "${head}" in {{${action}}}`);
  }
}

function operand(tok: string, data: TemplateData, action: string): unknown {
  if (tok.startsWith('"')) return JSON.parse(tok) as string;
  if (tok.startsWith('`')) return tok.slice(1, -1);
  if (tok === '.') return data;
  if (tok.startsWith('.')) {
    let v: unknown = data;
    for (const f of tok.slice(1).split('.')) {
      if (v === null || typeof v !== 'object' || !(f in v)) throw new TemplateError(`unknown field "${tok}" in {{${action}}}`);
      v = (v as Record<string, unknown>)[f];
    }
    return v;
  }
  throw new TemplateError(`cannot evaluate "${tok}" in {{${action}}}`);
}

function stringify(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : String(v);
}
