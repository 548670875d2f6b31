import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { runBench, type BenchOptions, type BenchResults } from '../../src/bench/run.js';
import { writeReport } from '../../src/bench/report.js';

/** A run smaller than the tiny preset: two maps, a few rows. */
const options = (only: BenchOptions['only']): BenchOptions => ({
  suite: 'tiny',
  data: { kind: 'digits' },
  maps: ['ntk-sketch', 'cntk-sketch'],
  only,
  backend: 'auto',
  seed: 0,
  sizes: { fidelityRows: 40, trainRows: 120, testRows: 60, cntkTrainRows: 100, cntkTestRows: 40, throughputRows: 120, exactRows: 40, sparseRows: 50 },
});

/** The numbers of the fidelity and accuracy suites, without their times. */
function deterministicPart(r: BenchResults) {
  return {
    fidelity: r.fidelity,
    accuracy: r.accuracy && { ...r.accuracy, points: r.accuracy.points.map(({ seconds: _s, ...p }) => p) },
  };
}

describe('ntk-sketch bench report', () => {
  it('gives the same fidelity and accuracy numbers on a second run with the same seeds', async () => {
    const a = await runBench(options(['fidelity', 'accuracy']));
    const b = await runBench(options(['fidelity', 'accuracy']));
    expect(a.fidelity!.points.length).toBe(2 * 2 + 2 * 2); // 2 maps x 2 feature counts x NTK and NNGP
    expect(a.accuracy!.points.map((p) => p.method)).toEqual(['exact-ntk', 'exact-cntk', 'ntk-sketch', 'cntk-sketch']);
    for (const p of a.accuracy!.points) {
      expect(p.score).toBeGreaterThan(0.5); // digits, 10 classes: far above chance
      expect(p.score).toBeLessThanOrEqual(1);
    }
    expect(deterministicPart(b)).toEqual(deterministicPart(a));
  }, 30_000);

  it('writes results.json, report.md and SVG plots with axes and legends that parse as XML', async () => {
    const results = await runBench(options(null), 'ntk-sketch bench --suite tiny');
    const dir = mkdtempSync(join(tmpdir(), 'ntk-bench-report-'));
    try {
      const files = await writeReport(results, dir);
      const written = readdirSync(dir).sort();
      expect(written).toEqual(['report.md', 'results.json', ...files.plots].sort());
      // results.json: the schema's fields, the machine, every suite.
      const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
      expect(json.schema).toBe('ntk-sketch/bench-results');
      expect(json.version).toBe(1);
      expect(json.command).toBe('ntk-sketch bench --suite tiny');
      expect(typeof json.machine.cpu.model).toBe('string');
      expect(json.machine.cpu.logicalCores).toBeGreaterThan(0);
      expect(json.machine.blas.vendor).toMatch(/\S/);
      expect(json.machine.blas.kernelFamily).toMatch(/\S/);
      expect(json.machine.versions.node).toBe(process.version);
      expect(typeof json.machine.gpu.available).toBe('boolean');
      expect(Date.parse(json.machine.date)).not.toBeNaN();
      for (const suite of ['fidelity', 'accuracy', 'throughput', 'sparsity', 'formats', 'backends']) {
        expect(json[suite]).not.toBeNull();
        expect(json.seconds[suite]).toBeGreaterThanOrEqual(0);
      }
      for (const f of json.throughput.figures) {
        expect(f.ms.min).toBeLessThanOrEqual(f.ms.median);
        expect(f.ms.median).toBeLessThanOrEqual(f.ms.max);
        if (f.group !== 'baseline') expect(f.ratio.median).toBeGreaterThan(0);
      }
      expect(json.throughput.figures.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['sgemm', 'dgemm', 'copy', 'ntk-sketch float32', 'ntk-sketch float64', 'exact NTK', 'gram accumulation', 'solve']));
      expect(json.throughput.scaling.map((s: { map: string }) => s.map)).toEqual(['ntk-sketch', 'cntk-sketch']);
      expect(json.sparsity.skipped).toEqual([{ map: 'cntk-sketch', reason: 'reads dense rows or images only' }]);
      if (!json.machine.gpu.available) expect(json.backends).toMatchObject({ ran: false, pairs: [], reason: expect.stringMatching(/^no device \(/) });
      // Every plot: well-formed SVG with a title, axis labels and a legend entry per series.
      expect(files.plots).toEqual(expect.arrayContaining(['fidelity-gram-ntk.svg', 'fidelity-spectral-nngp.svg', 'accuracy.svg', 'throughput-rows.svg', 'sparsity-nnz.svg', 'sparsity-dim.svg', 'formats.svg']));
      const parser = new XMLParser({ ignoreAttributes: false });
      for (const file of files.plots) {
        const svg = readFileSync(join(dir, file), 'utf8');
        expect(XMLValidator.validate(svg), file).toBe(true);
        const doc = parser.parse(svg);
        expect(doc.svg['@_xmlns']).toBe('http://www.w3.org/2000/svg');
        const texts = ([] as unknown[]).concat(doc.svg.text).map((t) => (typeof t === 'object' && t !== null ? String((t as Record<string, unknown>)['#text']) : String(t)));
        expect(texts.some((t) => /features m|rows n|non-zeros per row|input dimension d|file format/.test(t)), `${file} x axis label`).toBe(true);
        expect(texts.some((t) => /error|ε|accuracy|time \(ms\)|featurise-from-memory time/.test(t)), `${file} y axis label`).toBe(true);
        expect(([] as unknown[]).concat(doc.svg.path ?? doc.svg.rect).length, `${file} series`).toBeGreaterThan(0);
      }
      // report.md links results.json and every plot, and has the headline table.
      const md = readFileSync(join(dir, 'report.md'), 'utf8');
      expect(md).toContain('](results.json)');
      for (const file of files.plots) expect(md).toContain(`](${file})`);
      expect(md).toMatch(/## Headline\n\n\| map \|/);
      expect(md).toContain('| ntk-sketch |');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
