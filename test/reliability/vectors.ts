/**
 * Loads the oracle's vectors: JSON files under test/reliability/vectors/, one per category, each
 * case a raw byte sequence (a JSON string whose code points 0–255 are the bytes) with the public
 * corpus it was taken from. `repeat` expands a marker into a long run (oversized heads) so the
 * files stay readable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/gantry.js';

export interface Vector {
  id: string;
  category: string;
  /** Where the case comes from (corpus file and section), and what was adapted. */
  source: string;
  bytes: Buffer;
  /** A well-formed request every proxy must forward: proves the harness sees forwarding at all. */
  control: boolean;
}

interface VectorFile {
  category: string;
  cases: Array<{ id: string; source: string; raw: string; control?: boolean; repeat?: { marker: string; text: string; count: number } }>;
}

export const vectorDir = path.join(repoRoot, 'test/reliability/vectors');

export function loadVectors(dir = vectorDir): Vector[] {
  const out: Vector[] = [];
  const ids = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const data = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as VectorFile;
    for (const c of data.cases) {
      const id = `${data.category}/${c.id}`;
      if (ids.has(id)) throw new Error(`${file}: duplicate case id ${id}`);
      if (!c.source) throw new Error(`${file}: case ${id} names no source`);
      ids.add(id);
      let raw = c.raw;
      if (c.repeat !== undefined) raw = raw.split(c.repeat.marker).join(c.repeat.text.repeat(c.repeat.count));
      if ([...raw].some((ch) => ch.charCodeAt(0) > 255)) throw new Error(`${file}: case ${id} has a character above U+00FF (bytes are written as latin1)`);
      out.push({ id, category: data.category, source: c.source, bytes: Buffer.from(raw, 'latin1'), control: c.control === true });
    }
  }
  return out;
}
