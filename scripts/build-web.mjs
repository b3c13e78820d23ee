// Builds the dashboard (web/) into dist/web: one bundled, minified app.js (Preact included, no
// CDN: the dashboard works offline), plus index.html and style.css copied as they are.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/web');
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'web/src/main.tsx')],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: path.join(out, 'app.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(root, 'web', f), path.join(out, f));
console.log(`dashboard built into ${path.relative(root, out)}`);
