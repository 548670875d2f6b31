// The published surface as a user meets it: the typings under strict mode
// (correct use compiles, misuse does not) and require() from CommonJS.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = existsSync(join(root, 'dist', 'index.d.ts'));

describe('the published surface', () => {
  it.skipIf(!built)('strict TypeScript: correct use compiles without casts, every misuse is a type error', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'types', 'fixtures', 'tsconfig.json')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    // An unused @ts-expect-error (misuse that compiled) or an error in correct use both fail here.
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!built)("require('ntk-sketch') works from CommonJS and computes", () => {
    const script = `
      const m = require('ntk-sketch');
      const r = m.ntkKernelSync({ data: [3, 4], shape: [1, 2] }, null, { depth: 2 });
      const map = new m.NTKSketch({ inputDim: 2, depth: 1, features: 8 });
      console.log(JSON.stringify({ theta: r.ntk.get(0, 0), features: map.transformSync({ data: [3, 4], shape: [1, 2] }).shape }));`;
    const r = spawnSync(process.execPath, ['--no-warnings', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    // Theta^L(x, x) = (L + 1) |x|^2
    expect(JSON.parse(r.stdout.trim())).toEqual({ theta: 75, features: [1, 8] });
  });
});
