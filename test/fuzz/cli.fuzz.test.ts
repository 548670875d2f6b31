// The CLI subcommands on generated command lines (flags with bad or good
// values, valid and damaged files): exit code 0, or 1/2 with one line on
// stderr and no stack trace; no signal, no hang; a failed run leaves no file
// under the --out name.
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeData } from '../../src/index.js';
import { tempDir } from '../data/file-helpers.js';
import { FUZZ_RUNS_SLOW, fuzzSeed } from './fuzz-helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = tempDir('ntk-fuzz-cli-');
afterAll(() => tmp.remove());

beforeAll(async () => {
  const n = 20, d = 3;
  await writeData(tmp.file('rows.csv'), { data: Float64Array.from({ length: n * d }, (_, i) => Math.sin(i)), shape: [n, d] }, { header: ['a', 'b', 'y'] });
  await writeData(tmp.file('rows.npy'), { data: Float64Array.from({ length: n * d }, (_, i) => Math.cos(i)), shape: [n, d] });
  writeFileSync(tmp.file('bad.csv'), 'a,b,y\n1,2,3\n4,x,6\n');
  writeFileSync(tmp.file('trunc.npy'), Buffer.from('\x93NUMPY\x01\x00v\x00{'));
  writeFileSync(tmp.file('rows.libsvm'), '1 1:0.5 3:2\n0 2:1\n');
});

function run(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root, timeout: 90_000 });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    child.on('close', (code, signal) => resolve({ code, signal, stderr, ms: Date.now() - started }));
  });
}

const subcommands = ['transform', 'fit', 'predict', 'evaluate', 'merge', 'compare', 'bogus'];
const fileValue = () => fc.constantFrom('rows.csv', 'rows.npy', 'bad.csv', 'trunc.npy', 'rows.libsvm', 'missing.csv', 'dir/').map((f) => tmp.file(f));
const flagValue = fc.oneof(
  fc.constantFrom('0', '1', '2', '-1', '1.5', 'NaN', 'Infinity', '1e309', '99999999999', '', 'ntk', 'nngp', 'ntk-sketch', 'ntk-rf', 'cntk-sketch',
    'exact-ntk', 'regression', 'classification', 'y', 'a', '0,1', '1/2', '3/2', 'same', 'valid', 'float32', 'int8', 'cpu', 'cuda', 'true'),
  fileValue(),
  fc.string({ maxLength: 6 }),
);
const flags = ['--data', '--target', '--labels', '--map', '--method', '--features', '--depth', '--seed', '--out', '--model', '--kernel', '--lambda',
  '--validation', '--task', '--batch-rows', '--threads', '--dtype', '--format', '--delimiter', '--header', '--columns', '--shard', '--sketch-dim',
  '--image-shape', '--filter', '--padding', '--scale', '--backend', '--json', '--zero-based', '--no-intercept', '--bogus'];

/** A command line: a subcommand, then flags with values, sometimes a sensible core so runs get past the parser. */
const commandLine = fc.tuple(
  fc.constantFrom(...subcommands),
  fc.array(fc.tuple(fc.constantFrom(...flags), flagValue), { maxLength: 6 }),
  fc.boolean(),
).map(([sub, pairs, sensible]) => {
  const out = tmp.file(`out-${Math.random().toString(36).slice(2)}.npy`);
  const core = sensible
    ? sub === 'transform' ? ['--data', tmp.file('rows.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '16', '--depth', '1']
      : sub === 'fit' ? ['--data', tmp.file('rows.csv'), '--target', 'y', '--method', 'ntk-sketch', '--features', '16', '--depth', '1', '--lambda', '0.1']
        : []
    : [];
  const args = [sub, ...core, ...pairs.flatMap(([f, v]) => (f === '--json' || f === '--zero-based' || f === '--no-intercept' ? [f] : [f, v]))];
  if (sub !== 'compare') args.push('--out', sub === 'transform' || sub === 'predict' ? out : out.replace(/\.npy$/, '.model'));
  return { args, out: args[args.lastIndexOf('--out') + 1] };
});

describe('fuzz: CLI subcommands', () => {
  it(`generated command lines (${FUZZ_RUNS_SLOW} runs, 2 at a time): clean exit, one-line error, no partial output`, async () => {
    const cases = fc.sample(commandLine, { numRuns: FUZZ_RUNS_SLOW, seed: fuzzSeed() });
    const failures: string[] = [];
    const check = async ({ args, out }: { args: string[]; out: string }) => {
      // compare runs the whole packaged benchmark: only its parsing is fuzzed.
      if (args[0] === 'compare') args.push('--bogus-flag');
      const r = await run(args);
      const line = `ntk-sketch ${args.join(' ')} -> ${r.code ?? r.signal}: ${r.stderr.trim()}`;
      if (r.signal !== null || r.code === null || ![0, 1, 2].includes(r.code)) failures.push(`crashed: ${line}`);
      else if (r.code !== 0) {
        const text = r.stderr.trim();
        if (/\n\s+at |Error: .*\n.*node:internal|Cannot read properties|is not a function/.test(text)) failures.push(`stack trace or crash message: ${line}`);
        if (!/^(ntk-sketch: |\{"error")/m.test(text)) failures.push(`no error line: ${line}`);
        if (existsSync(out)) failures.push(`partial output left at ${out}: ${line}`);
      }
      rmSync(out, { force: true });
    };
    for (let i = 0; i < cases.length; i += 2) await Promise.all(cases.slice(i, i + 2).map(check));
    expect(failures).toEqual([]);
  }, 600_000);
});
