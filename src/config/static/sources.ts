/**
 * sources reads the command line and the environment into text entries for tree.ts. Flags are
 * `--a.b=value`, `--a.b value`, or a bare `--a.b` for a boolean or a section (`--providers.docker`);
 * environment variables are `GANTRY_A_B=value`, one `_`-separated segment per name.
 */
import type { Problem, TextEntry } from './tree.js';
import { nodeAt, type SchemaNode } from './zodtree.js';
import { compareOrdinal } from '../../ordinal.js';

export const ENV_PREFIX = 'GANTRY_';

/** argvEntries splits flags into entries; anything that is not a flag is a problem. */
export function argvEntries(argv: readonly string[], root: SchemaNode): { entries: TextEntry[]; problems: Problem[] } {
  const entries: TextEntry[] = [];
  const problems: Problem[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('--') || token === '--') {
      problems.push({ where: token, message: 'unexpected argument (options look like --entrypoints.web.address=:80)' });
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
    const segments = name.split('.');
    if (eq >= 0) {
      entries.push({ segments, value: token.slice(eq + 1), origin: 'flag' });
      continue;
    }
    const next = argv[i + 1];
    const node = nodeAt(root, segments);
    const switchable = node !== null && (node.kind === 'leaf' ? node.type === 'boolean' : node.section);
    if (switchable) {
      // A bare boolean means true; `--api.insecure false` is accepted too, but never eats another word.
      if (next !== undefined && /^(true|false)$/i.test(next)) {
        entries.push({ segments, value: next, origin: 'flag' });
        i++;
      } else {
        entries.push({ segments, value: null, origin: 'flag' });
      }
      continue;
    }
    if (next !== undefined && !next.startsWith('--')) {
      entries.push({ segments, value: next, origin: 'flag' });
      i++;
    } else {
      entries.push({ segments, value: null, origin: 'flag' });
    }
  }
  return { entries, problems };
}

/** envEntries takes every `GANTRY_*` variable; names are matched case-insensitively later. */
export function envEntries(env: NodeJS.ProcessEnv): TextEntry[] {
  const entries: TextEntry[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    entries.push({ segments: name.slice(ENV_PREFIX.length).split('_'), value, origin: 'env', envName: name });
  }
  return entries.sort((a, b) => compareOrdinal(a.envName!, b.envName!));
}
