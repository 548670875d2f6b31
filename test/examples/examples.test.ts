// The examples run as a user runs them (node on the built package) and do
// what they say.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('examples', () => {
  it('logistic-regression.mjs: an npm logistic regression does better on NTKSketch features than on the pixels', () => {
    const r = spawnSync(process.execPath, [join(root, 'examples', 'logistic-regression.mjs')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.train + out.test).toBe(1797);
    expect(out.ntkSketch).toBeGreaterThan(0.93);
    expect(out.ntkSketch).toBeGreaterThan(out.pixels);
  });
});
