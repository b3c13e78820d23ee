// Replaces tsc's dist/src/config/zod.js (a re-export of zod) with one bundled module holding only
// the parts of zod it re-exports, tree-shaken: see src/config/zod.ts for why. Built from the
// source, so that it does not matter whether tsc wrote the file again.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  absWorkingDir: root,
  entryPoints: [path.join(root, 'src/config/zod.ts')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: ['node24'],
  outfile: path.join(root, 'dist/src/config/zod.js'),
  legalComments: 'inline',
  logLevel: 'warning',
});

// One character above U+00FF (a comment of zod's keeps an em dash) makes V8 hold the whole module's
// source at two bytes a character: 190 KB more in every process. Escaped, it is one byte a character.
const outfile = path.join(root, 'dist/src/config/zod.js');
const text = readFileSync(outfile, 'utf8');
const escaped = text.replace(/[^\x00-\xff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
if (escaped !== text) writeFileSync(outfile, escaped);
