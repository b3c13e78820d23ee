#!/usr/bin/env node
// traefik-docs-extract.mjs: copy every YAML dynamic-configuration example of Traefik's own
// documentation that needs no Kubernetes into test/integration/testdata/traefik-docs/, one file
// per example, each starting with a comment naming its source (tag, path, block number, tab).
// test/integration/traefik-docs.test.ts runs each one through `gantry check`.
//
//   node scripts/traefik-docs-extract.mjs <traefik git dir>
//
// The git dir is a clone of github.com/traefik/traefik (a bare one will do). The sources are read
// with `git show <tag>:<path>`, so no work tree is needed. Re-running rewrites the directory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const SOURCES = [
  // v3.7 keeps the whole dynamic-configuration reference here.
  { tag: 'v3.7.9', dir: 'docs/content/reference/routing-configuration' },
  // v3.7 folded the older per-middleware pages into the reference; v3.6.11 is their last release.
  { tag: 'v3.6.11', dir: 'docs/content/middlewares' },
];
// Tabs that hold something other than a file-provider document.
const SKIP_TAB = /kubernetes|labels|tags|docker|swarm|consul|nomad|ecs|values|secret|toml/i;
const DYNAMIC = new Set(['http', 'tcp', 'udp', 'tls']);

const gitDir = process.argv[2];
if (!gitDir) {
  console.error('usage: node scripts/traefik-docs-extract.mjs <traefik git dir>');
  process.exit(2);
}
const git = (...args) => execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'integration', 'testdata', 'traefik-docs');
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });

let written = 0;
for (const { tag, dir } of SOURCES) {
  const commit = git('rev-parse', `${tag}^{commit}`).trim();
  const files = git('ls-tree', '-r', '--name-only', tag, dir)
    .split('\n')
    .filter((f) => f.endsWith('.md') && !f.includes('/kubernetes/'));
  for (const file of files) {
    const blocks = yamlBlocks(git('show', `${tag}:${file}`));
    blocks.forEach((b, i) => {
      if (SKIP_TAB.test(b.tab)) return;
      let doc;
      try {
        doc = YAML.parse(b.text);
      } catch (e) {
        // Not YAML: a fragment with "..." placeholders, or a documentation typo Traefik's own YAML
        // parser rejects too. Listed, so that a reader can tell it from a missed example.
        if (/^(http|tcp|udp|tls):/m.test(b.text)) console.log(`skipped (not valid YAML): ${tag} ${file} block ${i + 1}: ${String(e.message).split('\n')[0]}`);
        return;
      }
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return;
      const keys = Object.keys(doc);
      if (keys.length === 0 || !keys.every((k) => DYNAMIC.has(k))) return;
      const slug = file.slice(dir.length + 1).replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-');
      const prefix = dir.endsWith('middlewares') ? 'mw-' : '';
      const name = `${prefix}${slug}-${String(i + 1).padStart(2, '0')}.yml`;
      const header = `# source: traefik/traefik ${tag} (${commit.slice(0, 10)}) ${file}, yaml block ${i + 1}${b.tab ? ` (tab "${b.tab}")` : ''}\n`;
      fs.writeFileSync(path.join(outDir, name), header + b.text);
      written++;
    });
  }
}
console.log(`wrote ${written} examples to ${path.relative(process.cwd(), outDir)}`);

/** yamlBlocks returns the fenced ```yaml blocks of a Markdown page, dedented, with their tab titles. */
function yamlBlocks(md) {
  const out = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)```ya?ml\b(.*)$/.exec(lines[i]);
    if (!m) continue;
    const indent = m[1].length;
    const tab = /tab="([^"]*)"/.exec(m[2])?.[1] ?? '';
    const body = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(Math.min(indent, lines[i].search(/\S|$/))));
    out.push({ tab, text: body.join('\n') + '\n' });
  }
  return out;
}
