import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { loadBenchData, type BenchData } from '../../src/bench/data.js';
import { byteScaleOf, formatsSuite, type FormatsResult } from '../../src/bench/formats.js';
import { mulberry32 } from '../../src/core/random.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FORMATS = ['csv', 'csv.gz', 'tsv', 'npy', 'libsvm', 'idx', 'idx.gz'];

/** The figures of each format must follow from its times: rates from rows and bytes, ratios per round against featurising. */
function checkFigures(r: FormatsResult, rows: number) {
  expect(r.formats.map((f) => f.name)).toEqual(FORMATS);
  expect(r.featurise.rowsPerSecond.median).toBeCloseTo(rows / (r.featurise.ms.median / 1000), 6);
  for (const f of r.formats) {
    expect(f.bytes).toBeGreaterThan(0);
    for (const s of [f.read.ms, f.endToEnd.ms]) {
      expect(s.min).toBeGreaterThan(0);
      expect(s.min).toBeLessThanOrEqual(s.median);
      expect(s.median).toBeLessThanOrEqual(s.max);
    }
    // One round: each ratio is that round's time over the featurise time of the same round.
    expect(f.read.ratio.median).toBeCloseTo(f.read.ms.median / r.featurise.ms.median, 9);
    expect(f.endToEnd.ratio.median).toBeCloseTo(f.endToEnd.ms.median / r.featurise.ms.median, 9);
    expect(f.read.rowsPerSecond.median).toBeCloseTo(rows / (f.read.ms.median / 1000), 6);
    expect(f.read.megabytesPerSecond.median).toBeCloseTo(f.bytes / 1e6 / (f.read.ms.median / 1000), 6);
    expect(f.endToEnd.rowsPerSecond.median).toBeCloseTo(rows / (f.endToEnd.ms.median / 1000), 6);
  }
  // The compressed files are smaller than the ones they compress.
  const bytes = new Map(r.formats.map((f) => [f.name, f.bytes]));
  expect(bytes.get('csv.gz')!).toBeLessThan(bytes.get('csv')!);
  expect(bytes.get('idx.gz')!).toBeLessThan(bytes.get('idx')!);
}

describe('byteScaleOf', () => {
  it('finds the scale that makes every value a byte, or null', () => {
    expect(byteScaleOf([0, 1 / 16, 0.5, 1])).toBe(1 / 16);
    expect(byteScaleOf([0, 3 / 255, 1])).toBe(1 / 255);
    expect(byteScaleOf([0, 17, 255])).toBe(1);
    expect(byteScaleOf([0, 256])).toBeNull();
    expect(byteScaleOf([0.1234567])).toBeNull();
    expect(byteScaleOf([-1 / 16])).toBeNull();
  });
});

describe('data-formats suite', () => {
  it('reads the digits back exactly from every format (as bytes with scale 1/16) and times them against featurising', async () => {
    const data = await loadBenchData({ kind: 'digits' }, 150, 20, 0);
    // More rows than the data has: the training rows repeated.
    const r = await formatsSuite(data, { rows: 200, features: 64, depth: 1, rounds: 1 });
    expect(r).toMatchObject({ rows: 200, columns: 64, features: 64, depth: 1, rounds: 1, byteScale: 1 / 16 });
    checkFigures(r, 200);
    for (const f of r.formats) expect(f.maxAbsDifference, f.name).toBe(0);
    // Bytes as text: at most 3 digits and a separator per value, plus the header.
    const csv = r.formats.find((f) => f.name === 'csv')!;
    expect(csv.bytes).toBeLessThan(200 * 65 * 4 + 65 * 5);
    // IDX: 1 byte per pixel and per label, and the headers.
    expect(r.formats.find((f) => f.name === 'idx')!.bytes).toBe(16 + 200 * 64 + 8 + 200);
  }, 60_000);

  it('writes values that are not bytes to 7 digits (float32 in .npy and IDX), with two regression targets', async () => {
    const u = mulberry32(5);
    const n = 60, d = 5, k = 2;
    const X = Float64Array.from({ length: n * d }, () => (u() - 0.5) * 20);
    const y = Float64Array.from({ length: n * k }, () => u());
    const data: BenchData = {
      name: 'random', d, imageShape: null, targets: k, task: 'regression', sparse: false,
      train: { X, n, y }, test: { X: X.subarray(0, d), n: 1, y: y.subarray(0, k) },
    };
    const r = await formatsSuite(data, { rows: n, features: 32, depth: 2, rounds: 1 });
    expect(r.byteScale).toBeNull();
    checkFigures(r, n);
    const diff = new Map(r.formats.map((f) => [f.name, f.maxAbsDifference]));
    // Binary formats hold float32 exactly; text holds 7 significant digits: |error| <= 5e-7 |x| (|x| <= 10)
    // plus one float32 rounding of the parsed value (2^-24 |x|).
    for (const name of ['npy', 'idx', 'idx.gz']) expect(diff.get(name), name).toBe(0);
    for (const name of ['csv', 'csv.gz', 'tsv', 'libsvm']) expect(diff.get(name), name).toBeLessThanOrEqual(10 * (5e-7 + 2 ** -24));
  }, 60_000);

  it('runs on rows without targets', async () => {
    const data = await loadBenchData({ kind: 'digits' }, 50, 10, 0);
    const r = await formatsSuite({ ...data, targets: 0, task: null, train: { ...data.train, y: null } }, { rows: 50, features: 32, depth: 1, rounds: 1 });
    checkFigures(r, 50);
    expect(r.formats.find((f) => f.name === 'npy')!.description).not.toMatch(/targets/);
  }, 60_000);

  it('runs from the command line with --only formats: results.json carries the figures, the plot is well-formed SVG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ntk-bench-formats-'));
    try {
      const out = join(dir, 'report');
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'bench', '--suite', 'tiny', '--only', 'formats', '--out', out, '--json'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).files.plots).toEqual(['formats.svg']);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      expect(results.fidelity).toBeNull();
      expect(results.sizes.formatRows).toBe(300);
      expect(results.seconds.formats).toBeGreaterThan(0);
      expect(results.formats.rows).toBe(300);
      expect(results.formats.formats.map((f: { name: string }) => f.name)).toEqual(FORMATS);
      for (const f of results.formats.formats) expect(f.read.ratio.median).toBeGreaterThan(0);
      const svg = readFileSync(join(out, 'formats.svg'), 'utf8');
      expect(XMLValidator.validate(svg)).toBe(true);
      const doc = new XMLParser({ ignoreAttributes: false }).parse(svg);
      expect(doc.svg['@_xmlns']).toBe('http://www.w3.org/2000/svg');
      const texts = ([] as unknown[]).concat(doc.svg.text).map((t) => (typeof t === 'object' && t !== null ? String((t as Record<string, unknown>)['#text']) : String(t)));
      // Axis labels with units, a tick per format, a legend entry per bar series and for the baseline.
      for (const label of ['file format (whiskers: min – max over rounds)', 'time / featurise-from-memory time, same round', 'read (openData pass)', 'read + NTKSketch (end to end)', 'featurise from memory', ...FORMATS]) {
        expect(texts, label).toContain(label);
      }
      // Two bars per format.
      expect(([] as { '@_class'?: string }[]).concat(doc.svg.rect).filter((x) => x['@_class'] === 'bar')).toHaveLength(2 * FORMATS.length);
      const md = readFileSync(join(out, 'report.md'), 'utf8');
      expect(md).toMatch(/## Data formats[\s\S]*\| format \| file \| MB \|[\s\S]*\| idx\.gz \|[\s\S]*!\[[^\]]*\]\(formats\.svg\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('data-formats suite options', () => {
  it.each([['rows', 0], ['features', 1.5], ['depth', -1], ['rounds', Number.NaN]] as const)('refuses %s = %s naming it', async (key, value) => {
    const data = await loadBenchData({ kind: 'digits' }, 20, 5, 0);
    await expect(formatsSuite(data, { rows: 20, features: 16, depth: 1, rounds: 1, [key]: value })).rejects.toThrow(new RegExp(`^${key} must be a positive integer`));
  });
});
