/**
 * Go replacement templates (regexp.Expand), parsed once: `$1`, `${1}`, `$name`, `${name}`, `$$`
 * for a dollar. As in Go, a name is the longest run of letters, digits and `_` (so `$1x` names
 * a group "1x": write `${1}x`), a number with a leading zero (`$01`) is a name, not group 1, a
 * malformed reference (`$` before punctuation, `${` without a valid name and `}`) keeps its `$` as
 * text, and a reference to a missing group, or to one that took no part in the match, expands to
 * nothing.
 */

/** A template part: literal text, or a reference by number or by name. */
export type TemplatePart = string | { readonly num: number } | { readonly name: string };

// Go's extract(): unicode.IsLetter, unicode.IsDigit (Nd) or '_'.
const NAME = /^[\p{L}\p{Nd}_]+/u;

/** parseTemplate splits a Go replacement template into literal text and group references. */
export function parseTemplate(t: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let lit = '';
  let i = 0;
  while (i < t.length) {
    const dollar = t.indexOf('$', i);
    if (dollar < 0) {
      lit += t.slice(i);
      break;
    }
    lit += t.slice(i, dollar);
    i = dollar + 1;
    if (t[i] === '$') {
      lit += '$';
      i++;
      continue;
    }
    const brace = t[i] === '{';
    const m = NAME.exec(t.slice(brace ? i + 1 : i));
    if (m === null || (brace && t[i + 1 + m[0].length] !== '}')) {
      lit += '$'; // malformed: Go keeps the dollar as text and goes on after it
      continue;
    }
    const name = m[0];
    i += name.length + (brace ? 2 : 0);
    if (lit !== '') parts.push(lit);
    lit = '';
    parts.push(groupNumber(name) >= 0 ? { num: groupNumber(name) } : { name });
  }
  if (lit !== '') parts.push(lit);
  return parts;
}

/** groupNumber is Go's: up to 9 decimal digits without a leading zero, else -1 (a name). */
function groupNumber(name: string): number {
  if (!/^[0-9]+$/.test(name) || (name.length > 1 && name[0] === '0') || name.length > 9) return -1;
  return Number(name);
}

/**
 * resolveTemplate binds a parsed template to a regexp's groups (Go's SubexpNames): a reference
 * becomes the list of group indexes it may take its text from, in order. Go expands a name with
 * the first group of that name that took part in the match (names may repeat in Go); a reference
 * to a group the regexp does not have gets an empty list and expands to nothing.
 */
export function resolveTemplate(parts: readonly TemplatePart[], subexpNames: readonly string[]): Array<string | readonly number[]> {
  return parts.map((p) => {
    if (typeof p === 'string') return p;
    if ('num' in p) return p.num < subexpNames.length ? [p.num] : [];
    const indexes: number[] = [];
    for (let i = 1; i < subexpNames.length; i++) if (subexpNames[i] === p.name) indexes.push(i);
    return indexes;
  });
}
