/**
 * Tokenizer for the rule language. Traefik parses rules as Go expressions (vulcand/predicate
 * calls go/parser.ParseExpr), so string arguments are Go string literals: raw strings between
 * backticks, or interpreted strings between double quotes with Go's escapes. Single-quoted
 * strings are Go rune literals and are refused, as Traefik refuses them.
 */
import { RuleSyntaxError } from '../../errors.js';

export type TokenKind = 'ident' | 'string' | '(' | ')' | ',' | '&&' | '||' | '!' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier name, or the decoded value of a string literal. */
  readonly value: string;
  /** 1-based position of the token's first character in the rule. */
  readonly position: number;
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

/** tokenize splits a rule into tokens; it throws RuleSyntaxError on the first lexical error. */
export function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = rule.length;
  while (i < n) {
    const c = rule.charCodeAt(i);
    // Go's whitespace: space, tab, newline, carriage return.
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const pos = i + 1;
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(rule.charCodeAt(j))) j++;
      tokens.push({ kind: 'ident', value: rule.slice(i, j), position: pos });
      i = j;
      continue;
    }
    switch (c) {
      case 40: // (
        tokens.push({ kind: '(', value: '(', position: pos });
        i++;
        continue;
      case 41: // )
        tokens.push({ kind: ')', value: ')', position: pos });
        i++;
        continue;
      case 44: // ,
        tokens.push({ kind: ',', value: ',', position: pos });
        i++;
        continue;
      case 33: // !
        if (rule.charCodeAt(i + 1) === 61) throw new RuleSyntaxError('unexpected "!=": rules compare nothing, use !Matcher(...) to negate', pos);
        tokens.push({ kind: '!', value: '!', position: pos });
        i++;
        continue;
      case 38: // &
        if (rule.charCodeAt(i + 1) !== 38) throw new RuleSyntaxError('unexpected "&" (did you mean "&&"?)', pos);
        tokens.push({ kind: '&&', value: '&&', position: pos });
        i += 2;
        continue;
      case 124: // |
        if (rule.charCodeAt(i + 1) !== 124) throw new RuleSyntaxError('unexpected "|" (did you mean "||"?)', pos);
        tokens.push({ kind: '||', value: '||', position: pos });
        i += 2;
        continue;
      case 96: {
        // Raw string: everything up to the next backtick; Go drops carriage returns from raw strings.
        const end = rule.indexOf('`', i + 1);
        if (end < 0) throw new RuleSyntaxError('unterminated string: missing closing "`"', pos);
        tokens.push({ kind: 'string', value: rule.slice(i + 1, end).replaceAll('\r', ''), position: pos });
        i = end + 1;
        continue;
      }
      case 34: {
        const [value, end] = readInterpreted(rule, i);
        tokens.push({ kind: 'string', value, position: pos });
        i = end;
        continue;
      }
      case 39:
        throw new RuleSyntaxError('single-quoted strings are not allowed: use backticks or double quotes', pos);
      default:
        if (c >= 48 && c <= 57) throw new RuleSyntaxError('unexpected number: matcher arguments must be strings', pos);
        throw new RuleSyntaxError(`unexpected character ${JSON.stringify(String.fromCodePoint(rule.codePointAt(i) ?? c))}`, pos);
    }
  }
  tokens.push({ kind: 'eof', value: '', position: n + 1 });
  return tokens;
}

/** readInterpreted decodes a Go double-quoted string starting at `start`; returns [value, index after the closing quote]. */
function readInterpreted(rule: string, start: number): [string, number] {
  let out = '';
  let i = start + 1;
  const n = rule.length;
  while (i < n) {
    const c = rule.charCodeAt(i);
    if (c === 34) return [out, i + 1];
    if (c === 10) break; // a newline ends an interpreted string literal in Go: unterminated
    if (c !== 92) {
      out += rule[i];
      i++;
      continue;
    }
    const escPos = i + 1;
    const e = rule[i + 1];
    if (e === undefined) break;
    i += 2;
    switch (e) {
      case 'a': out += '\x07'; continue;
      case 'b': out += '\b'; continue;
      case 'f': out += '\f'; continue;
      case 'n': out += '\n'; continue;
      case 'r': out += '\r'; continue;
      case 't': out += '\t'; continue;
      case 'v': out += '\v'; continue;
      case '\\': out += '\\'; continue;
      case '"': out += '"'; continue;
      case 'x':
      case 'u':
      case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = rule.slice(i, i + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) throw new RuleSyntaxError(`invalid escape "\\${e}${hex}" in string`, escPos);
        const code = parseInt(hex, 16);
        if (e === 'x') {
          // \xHH is one byte in Go; bytes 0x80-0xFF only make sense as UTF-8 sequences, which rules never need.
          if (code > 0x7f) throw new RuleSyntaxError(`escape "\\x${hex}" is not valid UTF-8 on its own; use \\u`, escPos);
          out += String.fromCharCode(code);
        } else {
          if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new RuleSyntaxError(`escape "\\${e}${hex}" is not a valid Unicode code point`, escPos);
          out += String.fromCodePoint(code);
        }
        i += len;
        continue;
      }
      default:
        if (e >= '0' && e <= '7') {
          const oct = rule.slice(i - 1, i + 2);
          if (!/^[0-7]{3}$/.test(oct)) throw new RuleSyntaxError(`invalid octal escape "\\${oct}" in string`, escPos);
          const code = parseInt(oct, 8);
          if (code > 0x7f) throw new RuleSyntaxError(`octal escape "\\${oct}" is not valid UTF-8 on its own`, escPos);
          out += String.fromCharCode(code);
          i += 2;
          continue;
        }
        throw new RuleSyntaxError(`unknown escape sequence "\\${e}" in string`, escPos);
    }
  }
  throw new RuleSyntaxError('unterminated string: missing closing \'"\'', start + 1);
}
