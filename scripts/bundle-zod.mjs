// Replaces tsc's dist/src/config/zod.js (a re-export of zod) with one bundled module holding only
// the parts of zod it re-exports, tree-shaken: see src/config/zod.ts for why. Built from the
// source, so that it does not matter whether tsc wrote the file again.
import { build } from 'esbuild';
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
