import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'bench', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ntk-sketch bench command line', () => {
  it.each([
    [['--suite', 'huge'], /--suite must be one of tiny, quick, full, got 'huge'/],
    [['--maps', 'ntk-sketch,nope'], /--maps must list names among .*got 'nope'/],
    [['--only', 'speed'], /--only must list names among fidelity, accuracy, throughput, sparsity, formats, backends, got 'speed'/],
    [['--features', '12x'], /--features must be an integer, got '12x'/],
    [['--depths', '0'], /--depths must be an integer in \[1, 10\], got 0/],
    [['--rounds', '0'], /--rounds must be an integer in \[1, 1000\], got 0/],
    [['--backend', 'tpu'], /--backend must be 'auto', 'cpu' or 'cuda', got 'tpu'/],
    [['--task', 'classification'], /--task applies to --data FILE only/],
    [['--budget-seconds', '10'], /--budget-seconds applies with --recommend only/],
    [['--recommend', '--suite', 'quick'], /--suite does not apply with --recommend/],
    [['--recommend', '--compare', 'results.json'], /--compare does not apply with --recommend/],
    [['--recommend', '--budget-mib', '0'], /--budget-mib must be positive, got 0/],
    [['--recommend', '--budget-seconds', 'soon'], /--budget-seconds must be a finite number, got 'soon'/],
    [['--sizes', '3'], /Unknown option '--sizes'/],
    [['--data', 'missing-file.csv'], /missing-file\.csv/],
  ])('refuses %j naming the flag (exit code 2 for usage)', (args, message) => {
    const r = cli(...args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(args[1] === 'missing-file.csv' ? 1 : 2);
    expect(r.stdout).toBe('');
  });

  it('prints its help', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--suite S/);
    expect(r.stdout).toMatch(/--recommend/);
  });

  it('writes a report directory (tiny suite, two suites) and says where', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ntk-bench-cli-'));
    try {
      const out = join(dir, 'report');
      const r = cli('--suite', 'tiny', '--only', 'fidelity,backends', '--maps', 'ntk-sketch', '--rows', '30', '--out', out, '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary.files.plots).toContain('fidelity-gram-ntk.svg');
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      expect(results.command).toBe('ntk-sketch bench --suite tiny --only fidelity,backends --maps ntk-sketch --rows 30');
      expect(results.fidelity.rows).toBe(30);
      expect(results.accuracy).toBeNull();
      expect(existsSync(join(out, 'report.md'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('--compare adds a repeatability section against an earlier run of the same flags, and refuses another configuration', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ntk-bench-cli-'));
    try {
      const flags = ['--suite', 'tiny', '--only', 'fidelity', '--maps', 'ntk-sketch', '--rows', '30'];
      expect(cli(...flags, '--out', join(dir, 'a'), '--json').code).toBe(0);
      const r = cli(...flags, '--out', join(dir, 'b'), '--compare', join(dir, 'a', 'results.json'), '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const results = JSON.parse(readFileSync(join(dir, 'b', 'results.json'), 'utf8'));
      expect(results.command).toBe(`ntk-sketch bench ${flags.join(' ')}`);
      expect(results.repeatability.fidelity.changed).toEqual([]);
      expect(results.repeatability.fidelity.compared).toBeGreaterThan(0);
      expect(readFileSync(join(dir, 'b', 'report.md'), 'utf8')).toMatch(/## Repeatability[\s\S]*all \d+ identical/);
      // Another row count: refused before running, naming the flag and the field.
      const other = cli('--suite', 'tiny', '--only', 'fidelity', '--maps', 'ntk-sketch', '--rows', '31', '--out', join(dir, 'c'), '--compare', join(dir, 'a', 'results.json'));
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(/--compare: the earlier run measured other sizes/);
      expect(existsSync(join(dir, 'c'))).toBe(false);
      const missing = cli('--suite', 'tiny', '--compare', join(dir, 'none.json'));
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--compare: cannot read .*none\.json as JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('recommends a map for a CSV file within a time budget and prints the command that reproduces it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ntk-bench-rec-'));
    try {
      // y = sin(x0) + x1 x2 on 300 rows of 4 columns: a smooth regression target.
      const lines = ['a,b,c,d,y'];
      for (let i = 0; i < 300; i++) {
        const x = [Math.sin(i * 1.7), Math.cos(i * 0.3), Math.sin(i * 0.11 + 1), Math.cos(i * 2.3)];
        lines.push([...x.map((v) => v.toFixed(5)), (Math.sin(x[0]) + x[1] * x[2]).toFixed(5)].join(','));
      }
      const file = join(dir, 'rows.csv');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const r = cli('--recommend', '--data', file, '--target', 'y', '--maps', 'ntk-sketch,ntk-rf', '--features', '64,256', '--depths', '1', '--budget-seconds', '60', '--rounds', '1', '--json');
      expect(r.code).toBe(0);
      const rec = JSON.parse(r.stdout);
      expect(rec.metric).toBe('r2');
      expect(rec.totalRows).toBe(300);
      expect(rec.candidates).toHaveLength(4);
      for (const c of rec.candidates) {
        expect(c.gramError).toBeGreaterThan(0);
        expect(c.gramError).toBeLessThan(1);
        expect(c.rowsPerSecond).toBeGreaterThan(0);
        expect(c.command).toContain(`--data ${file} --target y --task regression --method ${c.map}`);
      }
      const best = rec.candidates.reduce((a: { score: number }, b: { score: number }) => (b.score > a.score ? b : a));
      expect(rec.best.score).toBe(best.score);
      expect(rec.best.score).toBeGreaterThan(0.5);
      // A memory budget below every candidate's: no recommendation, and the text says so.
      const none = cli('--recommend', '--data', file, '--target', 'y', '--maps', 'ntk-sketch', '--features', '64', '--depths', '1', '--budget-mib', '0.001', '--rounds', '1');
      expect(none.code).toBe(0);
      expect(none.stdout).toMatch(/No configuration fits the budget/);
      expect(none.stdout).toMatch(/ntk-sketch +1 +64 .* no\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
