// A data-parallel fit on an existing engine: GNU parallel runs `fit --shard
// I/4` as four processes, `merge` joins the parts, and the merged model
// predicts what one process fitting every row predicts (1e-10 relative).
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openData, readAll } from '../../src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ntk-shards-'));
const file = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cliArgs = ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts')];
const cli = (...args: string[]) => spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
const parallel = spawnSync('parallel', ['--version'], { encoding: 'utf8' });
const noParallel = parallel.error || parallel.status !== 0 ? 'GNU parallel is not installed (Debian package parallel)' : null;

// 403 rows (not a multiple of 4) of 6 values and two targets.
const n = 403, d = 6;
let s = 17;
const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const lines = ['a,b,c,d,e,f,t1,t2'];
for (let i = 0; i < n; i++) {
  const x = Array.from({ length: d }, u);
  lines.push([...x, Math.sin(3 * x[0]) + x[1] * x[2], Math.abs(x[3]) - x[4]].join(','));
}
writeFileSync(file('rows.csv'), `${lines.join('\n')}\n`);
const fitArgs = ['--data', file('rows.csv'), '--target', 't1,t2', '--method', 'ntk-sketch', '--features', '64', '--depth', '2', '--seed', '3', '--validation', '0.2'];

describe.skipIf(noParallel)(`fit --shard with GNU parallel${noParallel ? ` (skipped: ${noParallel})` : ''}`, () => {
  it('four shards merged predict what one process predicts', async () => {
    const single = cli('fit', ...fitArgs, '--out', file('single.ntkm'), '--json');
    expect(single.stderr).toBe('');
    const r = spawnSync('parallel', ['--halt', 'now,fail=1', '-j4', process.execPath, ...cliArgs, 'fit', ...fitArgs, '--shard', '{}/4', '--out', file('part-{}.ntkm'), '--json', ':::', '1', '2', '3', '4'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const shards = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).sort((a, b) => a.range[0] - b.range[0]);
    expect(shards.map((x) => x.range)).toEqual([[0, 100], [100, 201], [201, 302], [302, 403]]);
    const parts = [1, 2, 3, 4].map((i) => file(`part-${i}.ntkm`));
    const m = cli('merge', ...parts, '--out', file('merged.ntkm'), '--json');
    expect(m.stderr).toBe('');
    const merged = JSON.parse(m.stdout), lambda = JSON.parse(single.stdout).lambda;
    expect(merged).toMatchObject({ parts: 4, rows: n });
    // The same lambda chosen (the statistics differ only by the order of their sums).
    expect(Math.abs(merged.lambda - lambda)).toBeLessThan(1e-12 * lambda);
    for (const model of ['single', 'merged']) {
      expect(cli('predict', '--model', file(`${model}.ntkm`), '--data', file('rows.csv'), '--out', file(`${model}.npy`)).status).toBe(0);
    }
    const a = (await readAll(await openData(file('single.npy')))).X.data, b = (await readAll(await openData(file('merged.npy')))).X.data;
    let worst = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    expect(worst).toBeLessThan(1e-10 * scale);
    // A missing shard or one merged twice: refused, nothing written.
    const gap = cli('merge', parts[0], parts[1], parts[3], '--out', file('gap.ntkm'));
    expect(gap.status).toBe(2);
    expect(gap.stderr).toMatch(/rows \[201, 302\) of .*rows\.csv are in no part/);
    expect(cli('merge', parts[0], parts[0], parts[1], parts[2], parts[3], '--out', file('twice.ntkm')).stderr).toMatch(/the parts overlap/);
    expect(existsSync(file('gap.ntkm')) || existsSync(file('twice.ntkm'))).toBe(false);
    // Continuing a model: with data of the map's width and the model's targets only.
    expect(cli('fit', '--data', file('rows.csv'), '--target', 't1', '--continue', file('single.ntkm'), '--out', file('c.ntkm')).stderr).toMatch(/the map reads rows of 6 values, but the rows of .*rows\.csv have 7/);
    expect(cli('fit', '--data', file('rows.csv'), '--target', 't1,t2', '--continue', file('single.ntkm'), '--features', '8', '--out', file('c.ntkm')).stderr).toMatch(/--features does not apply with --continue/);
    const more = JSON.parse(cli('fit', '--data', file('rows.csv'), '--target', 't1,t2', '--continue', file('merged.ntkm'), '--out', file('c.ntkm'), '--json').stdout);
    expect(more).toMatchObject({ rows: n, totalRows: 2 * n });
    expect(cli('fit', ...fitArgs, '--shard', '5/4', '--out', file('x.ntkm')).stderr).toMatch(/--shard must be I\/N with 1 <= I <= N, got '5\/4'/);
  });
});
