import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends } from '../../src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs the CLI from source through tsx (no build step needed). */
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ntk-sketch command line', () => {
  it('reaches >= 0.98 test accuracy on digits with the exact NTK (depth 1), JSON lines only', () => {
    const r = cli('--json', '--depth', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const results = lines.map((l) => JSON.parse(l));
    const ntk = results.find((x) => x.method === 'exact-ntk');
    expect(ntk).toBeDefined();
    expect(ntk.depth).toBe(1);
    expect(ntk.accuracy).toBeGreaterThanOrEqual(0.98);
    expect(ntk.accuracy).toBeLessThanOrEqual(1);
    expect(ntk.seconds).toBeGreaterThan(0);
    expect(ntk.train).toBe(1438);
    expect(ntk.test).toBe(359);
    expect(ntk.lambda).toBeGreaterThan(0);
    const lin = results.find((x) => x.method === 'linear-ridge');
    expect(lin).toBeDefined();
    expect(lin.accuracy).toBeGreaterThan(0.85);
    expect(lin.accuracy).toBeLessThan(ntk.accuracy);
    // Ridge on 1,024 NTKSketch features comes within 2 points of the exact kernel.
    const sketch = results.find((x) => x.method === 'ntk-sketch');
    expect(sketch).toBeDefined();
    expect(sketch.features).toBe(1024);
    expect(sketch.accuracy).toBeGreaterThan(ntk.accuracy - 0.02);
    expect(results).toHaveLength(3);
    // Every line names what produced it.
    for (const line of results) expect(line).toMatchObject({ data: 'digits', seed: 0 });
    expect(sketch).toMatchObject({ map: 'NTKSketch' });
    expect(ntk.backend).toMatch(/^(cpu|cuda)$/);
    expect(lin).toMatchObject({ map: null, backend: 'cpu' });
  });

  it('--pool: ntk-sketch keeps --features columns of a larger NTKSketch by leverage scores', () => {
    const r = cli('--method', 'ntk-sketch', '--depth', '1', '--features', '256', '--pool', '2048', '--json');
    expect(r.code).toBe(0);
    const [res] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(res).toMatchObject({ method: 'ntk-sketch', depth: 1, features: 256, pool: 2048 });
    expect(res.accuracy).toBeGreaterThan(0.95);
    const table = cli('--method', 'ntk-sketch', '--depth', '1', '--features', '256', '--pool', '2048');
    expect(table.stdout).toMatch(/ntk-sketch keeps 256 of 2048 NTKSketch features by leverage scores/);
    expect(table.stdout).toMatch(new RegExp(`^ntk-sketch\\s+1\\s+256\\s+1438\\s+\\S+\\s+${res.accuracy.toFixed(4)}\\s`, 'm'));
  });

  it('--method nystrom: ridge on NTKNystrom features with landmarks from the fit rows, next to the exact kernel', () => {
    const r = cli('--method', 'exact-ntk,nystrom', '--depth', '2', '--features', '5000', '--json');
    expect(r.code).toBe(0);
    const [exact, nys] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // 5,000 landmarks asked, the 1,078 fit rows all taken: on the fit and validation rows the features' inner
    // products are the exact kernel, so the lambda search sees exact kernel ridge's scores and picks its lambda.
    expect(nys).toMatchObject({ method: 'nystrom', depth: 2, features: 1078, map: 'NTKNystrom', backend: 'cpu', train: 1438 });
    expect(nys.validationAccuracy).toBe(exact.validationAccuracy);
    expect(Math.abs(nys.lambda - exact.lambda)).toBeLessThan(1e-6 * exact.lambda);
    expect(nys.accuracy).toBeGreaterThanOrEqual(exact.accuracy - 0.01);
    const small = JSON.parse(cli('--method', 'nystrom', '--depth', '1', '--features', '64', '--json').stdout.trim());
    expect(small).toMatchObject({ method: 'nystrom', features: 64 });
    expect(small.accuracy).toBeGreaterThan(0.85);
    expect(small.accuracy).toBeLessThan(exact.accuracy);
  });

  it('prints an aligned table without --json', () => {
    const r = cli('--depth', '1', '--train', '600', '--test', '300', '--seed', '3');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^method\s+depth\s+features\s+train n\s+lambda\s+accuracy\s+seconds$/m);
    expect(r.stdout).toMatch(/^exact-ntk\s+1\s+-\s+600\s+\S+\s+0\.9\d{3}\s+\d+\.\d{2}$/m);
    expect(r.stdout).toMatch(/^ntk-sketch\s+1\s+1024\s+600\s+\S+\s+0\.9\d{3}\s+\d+\.\d{2}$/m);
    expect(r.stdout).toMatch(/^linear-ridge\s+-\s+-\s+600\s/m);
    // No progress bar when stderr is not a terminal.
    expect(r.stderr).toBe('');
  });

  it('is deterministic for a seed', () => {
    const strip = (s: string) => s.trim().split('\n').map((l) => { const o = JSON.parse(l); delete o.seconds; return o; });
    const a = cli('--json', '--depth', '2', '--train', '400', '--test', '200', '--seed', '5');
    const b = cli('--json', '--depth', '2', '--train', '400', '--test', '200', '--seed', '5');
    expect(a.code).toBe(0);
    expect(strip(a.stdout)).toEqual(strip(b.stdout));
  });

  it('--backend cuda: exit 2 with the reason without a device, else the same results as --backend cpu', () => {
    if (!backends().cuda.available) {
      const r = cli('--backend', 'cuda');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--backend 'cuda' is not available: ./);
      return;
    }
    const strip = (s: string) => s.trim().split('\n').map((l) => { const o = JSON.parse(l); delete o.seconds; return o; });
    const args = ['--json', '--depth', '2', '--train', '400', '--test', '200', '--method', 'exact-ntk,ntk-sketch'];
    const gpu = strip(cli(...args, '--backend', 'cuda').stdout);
    const cpu = strip(cli(...args, '--backend', 'cpu').stdout);
    expect(gpu.map((o) => o.method)).toEqual(['exact-ntk', 'ntk-sketch']);
    // NTKSketch: the same bits, so the same line. Exact NTK: equal to rounding,
    // which reaches the chosen lambda (1.7e-11 relative on an H100).
    expect(gpu[1]).toEqual(cpu[1]);
    expect({ ...gpu[0], lambda: 0 }).toEqual({ ...cpu[0], lambda: 0 });
    expect(Math.abs(gpu[0].lambda - cpu[0].lambda)).toBeLessThan(1e-8 * cpu[0].lambda);
  });

  it('prints help and exits 0', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: ntk-sketch/);
    expect(r.stdout).toMatch(/--data/);
  });

  it.each([
    [['--bogus'], /--bogus/],
    [['--data', 'mnist'], /--data must be 'digits' or 'fashion-mnist'/],
    [['--depth', '0'], /--depth must be an integer in \[1, 1000\]/],
    [['--depth', 'two'], /--depth must be an integer/],
    [['--train', '100000'], /--train must be an integer in/],
    [['--test', '-3'], /--test/],
    [['--seed', '1.5'], /--seed must be an integer/],
    [['--method', 'exact-ntk,svm'], /--method must list/],
    [['--features', '0'], /--features must be an integer/],
    [['--features', '64', '--pool', '64'], /--pool must exceed --features \(64\), got 64/],
    [['--pool', 'many'], /--pool must be an integer/],
    [['--json=yes'], /--json/],
    [['--backend', 'gpu'], /--backend must be 'auto', 'cpu' or 'cuda'/],
    [['extra'], /extra/],
    [['--data', 'fashion-mnist', '--train', '30000'], /--train 30000 is too large for the exact kernel .* or --method without it/],
    [['--data', 'fashion-mnist', '--train', '70000', '--method', 'ntk-sketch'], /--train must be at most 60000/],
    [['--method', 'ntk-sketch', '--depth', '1,40'], /--depth must be at most 32 with ntk-sketch, got 40/],
  ])('rejects %j with exit code 2 and a one-line message', (args, pattern) => {
    const r = cli(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with an install hint when the Fashion-MNIST files are missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ntk-sketch-cli-'));
    try {
      const r = cli('--data', 'fashion-mnist', '--data-dir', empty, '--json');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/apt-get install dataset-fashion-mnist/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
