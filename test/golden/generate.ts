// Writes test/golden/saved-maps.json: each golden case's saved document, the
// sha256 of its features for each kernel, and (for cases that may move by
// rounding) the first SAMPLE_ROWS rows of features. Run with the addon of the
// release whose documents the file pins, only when a release deliberately
// changes a map (and bumps that map's format version):
//   npx tsx test/golden/generate.ts
// With --add, only the cases missing from the file (maps added since) are
// written, after the pinned entries, which stay as they are.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SAMPLE_ROWS, goldenCases, hashOf, inputFor } from './golden-cases.js';

const file = fileURLToPath(new URL('saved-maps.json', import.meta.url));
const add = process.argv.includes('--add');
const pinned = add && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { name: string }[]) : [];
const missing = goldenCases.filter((c) => !pinned.some((e) => e.name === c.name));

const entries = missing.map((c) => {
  const map = c.build();
  const document = JSON.parse(JSON.stringify(map)) as Record<string, unknown>;
  const loaded = c.load(document);
  const features: Record<string, string> = {};
  const samples: Record<string, number[]> = {};
  // LeverageSelection keeps the columns of one kernel and transforms that one only.
  const kernels = typeof document.kernel === 'string' ? [document.kernel as 'ntk' | 'nngp'] : (['ntk', 'nngp'] as const);
  for (const kernel of kernels) {
    const phi = loaded.transformSync(inputFor(c), typeof document.kernel === 'string' ? undefined : { kernel }).data;
    features[kernel] = hashOf(phi);
    if (c.rounding) samples[kernel] = Array.from(phi.subarray(0, (phi.length / rowsOf(c)) * SAMPLE_ROWS));
  }
  return { name: c.name, document, features, ...(c.rounding ? { samples } : {}) };
});

function rowsOf(c: (typeof goldenCases)[number]): number {
  const x = inputFor(c) as { shape: number[] };
  return x.shape[0];
}

writeFileSync(file, JSON.stringify([...pinned, ...entries]) + '\n');
console.log(`wrote ${entries.length} cases to ${file}${add ? ` after ${pinned.length} pinned ones` : ''}`);
