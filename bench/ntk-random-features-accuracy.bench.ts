/**
 * NTKRandomFeatures on Fashion-MNIST: what its ridge accuracy at 8,192
 * output features depends on. The NTKRandomFeatures issue asks for accuracy
 * within 1.5 points of exact NTK kernel ridge at 8,192 features (depth 2);
 * this bench measures, under one protocol, every way of spending the map's
 * budget that the map offers (feature split, wider step features, wider
 * internal layers behind the final SRHT, leverage and orthogonal weights) and
 * LeverageSelection from a larger pool, at depth 2 and, for the width study,
 * at depth 1 (where wide internal layers are cheap: the only GEMM is 784
 * wide).
 *
 *   npx tsx bench/ntk-random-features-accuracy.bench.ts [--quick] [--seeds 1,2]
 *
 * Protocol of the `ntk-sketch` CLI (bench/lib/ridge-protocol.ts): the first
 * 10,000 training images, lambda chosen by accuracy on the CLI's seeded 25 %
 * validation rows, refitted on all 10,000, evaluated once on the 10,000 test
 * images. Exact NTK kernel ridge on the same split: depth 2 from
 * bench/results/ntk-sketch-ridge.json, depth 1 computed here by the CLI
 * (about 3 minutes; skipped with --quick). A full run takes about 20 minutes
 * on 2 cores.
 *
 * Writes bench/results/ntk-random-features-accuracy.md (or under --out-dir DIR).
 * Needs the Fashion-MNIST files (apt-get install dataset-fashion-mnist).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeverageSelection, NTKRandomFeatures, type NTKRandomFeaturesOptions } from '../src/index.js';
import { machineDescription } from './lib/machine.js';
import { cliSplitOrSkip, ridgeTestAccuracy, runCli, savedExactNtkRidge } from './lib/ridge-protocol.js';
import { benchArgs } from './lib/args.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = benchArgs({ 'out-dir': { type: 'string' }, quick: { type: 'boolean' }, seeds: { type: 'string' } });
const args = cli.argv;
const quick = cli.flag('quick');
const SEEDS = cli.ints('seeds', [1]);
const D = 784, FEATURES = 8192, POOL = quick ? 16384 : 32768, SAMPLE = quick ? 1000 : 4000, LAMBDA = 1e-3;
const n = quick ? 3000 : 10000, nTest = quick ? 2000 : 10000;

const machine = machineDescription();
const split = cliSplitOrSkip(n, nTest);
const { train, test } = split;

type MapOptions = Partial<NTKRandomFeaturesOptions>;
/** A variant: the map's options at FEATURES outputs, or a selection of FEATURES columns from a POOL-feature map with those options. */
interface Variant { depth: number; label: string; options: MapOptions; select?: boolean }
/** m1 = m0 = ms = w per layer, mapped to FEATURES by the final SRHT. */
const wide = (depth: number, w: number): Variant => ({
  depth,
  label: `m1 = m0 = ms = ${w.toLocaleString('en')}, final SRHT ${(2 * w).toLocaleString('en')} -> ${FEATURES.toLocaleString('en')}`,
  options: { arcCosineFeatures: w, sketchFeatures: w },
});
const variants: Variant[] = [
  { depth: 2, label: 'default (m1 = m0 = 3,072, ms = 5,120)', options: {} },
  { depth: 2, label: 'leverage: true', options: { leverage: true } },
  { depth: 2, label: 'orthogonal: true', options: { orthogonal: true } },
  { depth: 2, label: 'stepFeatures 8,192', options: { stepFeatures: 8192 } },
  { depth: 2, label: 'sketchFeatures 7,168 (m1 = 1,024)', options: { sketchFeatures: 7168 } },
  { depth: 2, label: 'sketchFeatures 4,096 (m1 = 4,096)', options: { sketchFeatures: 4096 } },
  wide(2, 8192),
  { depth: 2, label: `LeverageSelection of ${FEATURES.toLocaleString('en')} from ${POOL.toLocaleString('en')} (default split)`, options: {}, select: true },
  { depth: 2, label: `LeverageSelection of ${FEATURES.toLocaleString('en')} from ${POOL.toLocaleString('en')}, orthogonal: true`, options: { orthogonal: true }, select: true },
  { depth: 1, label: 'default (m1 = m0 = 3,072, ms = 5,120)', options: {} },
  wide(1, quick ? 8192 : 16384),
  wide(1, quick ? 16384 : 32768),
  { depth: 1, label: `LeverageSelection of ${FEATURES.toLocaleString('en')} from ${POOL.toLocaleString('en')} (default split)`, options: {}, select: true },
];

interface Row { variant: Variant; seed: number; accuracy: number; lambdaRel: number; transformS: number }
const rows: Row[] = [];
for (const variant of variants) {
  for (const seed of SEEDS) {
    const make = (features: number) => new NTKRandomFeatures({ inputDim: D, depth: variant.depth, features, seed, ...variant.options });
    // A 32,768-feature pool holds about 1.3 GB of weights: released after each variant, not left to the GC.
    const base = make(variant.select ? POOL : FEATURES);
    let map: NTKRandomFeatures | LeverageSelection = base;
    if (variant.select) {
      const sample = { data: split.Xtrain.subarray(0, SAMPLE * D), shape: [SAMPLE, D] };
      map = await new LeverageSelection({ map: base, features: FEATURES, lambda: LAMBDA, seed }).fit(sample);
    }
    const t = performance.now();
    const P = (await map.transform(train)).data;
    const transformS = (performance.now() - t) / 1000;
    const Pt = (await map.transform(test)).data;
    base.dispose();
    const r = { variant, seed, ...(await ridgeTestAccuracy(split, P, Pt, FEATURES)), transformS };
    rows.push(r);
    console.log(`depth ${variant.depth}  ${variant.label.padEnd(62)} seed ${seed}  ${(100 * r.accuracy).toFixed(2)} %  lambda ${r.lambdaRel.toExponential(2)} x diag  transform ${transformS.toFixed(1)} s`);
  }
}

// Exact NTK kernel ridge: depth 2 from the NTKSketch bench's saved run, depth 1 from the CLI.
const exact = new Map<number, { accuracy: number; source: string }>();
const saved = quick ? null : savedExactNtkRidge(2);
if (saved) exact.set(2, { accuracy: saved.accuracy, source: `bench/results/ntk-sketch-ridge.json (${saved.date})` });
if (!quick) {
  const cli = runCli(['--data', 'fashion-mnist', '--train', String(n), '--test', String(nTest), '--depth', '1', '--method', 'exact-ntk']);
  const e = cli.results.find((r) => r.method === 'exact-ntk');
  if (e) exact.set(1, { accuracy: e.accuracy, source: 'the CLI, this run' });
  if (cli.error !== null) console.log(`exact depth-1 kernel ridge (CLI) failed: ${cli.error}`);
}
for (const [depth, e] of exact) console.log(`exact NTK kernel ridge, depth ${depth}: ${(100 * e.accuracy).toFixed(2)} % (${e.source})`);

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const int = (v: number) => v.toLocaleString('en');
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const md: string[] = [
  '# NTKRandomFeatures: ridge accuracy at 8,192 features, variant by variant (Fashion-MNIST)',
  '',
  `Generated by \`npx tsx bench/ntk-random-features-accuracy.bench.ts${args.length ? ' ' + args.join(' ') : ''}\` on ${new Date().toISOString()}.`,
  '',
  `Machine: ${machine}.`,
  '',
  `Ridge regression with the protocol of the \`ntk-sketch\` CLI on the first ${int(n)} training / ${int(nTest)} test images (lambda chosen by`,
  'accuracy on a seeded 25 % of the training rows, refitted, evaluated once), float32 features, `normalize` on (the default).',
  `Every variant outputs ${int(FEATURES)} features. m1: arc-cosine, m0: step, ms: TensorSRHT features per layer; a variant with`,
  `m1 + ms > ${int(FEATURES)} maps them to ${int(FEATURES)} by the final SRHT. LeverageSelection: fitted on the first ${int(SAMPLE)} fit rows`,
  `(no labels), lambda ${LAMBDA} x the mean diagonal. "transform": seconds for the ${int(n)} training rows (a selection computes its`,
  'whole pool, then keeps columns). The test-set standard error of an accuracy near 86 % on 10,000 images is 0.35 points, and',
  'a different draw of the same map moves it by about 0.2 points.',
  '',
  '## Target: ridge accuracy within 1.5 points of exact NTK kernel ridge at 8,192 features',
  '',
  '| depth | exact NTK kernel ridge | best variant (mean over seeds) | gap | |',
  '| --- | --- | --- | --- | --- |',
  ...[...exact].sort(([a], [b]) => b - a).map(([depth, e]) => {
    const best = variants
      .filter((v) => v.depth === depth)
      .map((v) => ({ v, m: mean(rows.filter((r) => r.variant === v).map((r) => r.accuracy)) }))
      .reduce((a, b) => (b.m > a.m ? b : a));
    const gap = 100 * (e.accuracy - best.m);
    return `| ${depth} | ${pct(e.accuracy)} | ${best.v.label}: ${pct(best.m)} | ${gap.toFixed(2)} points | ${gap <= 1.5 ? 'met' : '**not met**'} |`;
  }),
  '',
  '## Every variant',
  '',
  `| depth | variant | accuracy (seed${SEEDS.length > 1 ? 's' : ''} ${SEEDS.join(', ')}) | mean | gap to exact | ridge lambda (x diag) | transform s |`,
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...variants.map((v) => {
    const same = rows.filter((r) => r.variant === v);
    const m = mean(same.map((r) => r.accuracy));
    const e = exact.get(v.depth);
    return (
      `| ${v.depth} | ${v.label} | ${same.map((r) => pct(r.accuracy)).join(', ')} | ${pct(m)} | ${e ? `${(100 * (e.accuracy - m)).toFixed(2)} points` : ''} | ` +
      `${same.map((r) => r.lambdaRel.toExponential(1)).join(', ')} | ${same.map((r) => r.transformS.toFixed(1)).join(', ')} |`
    );
  }),
  ...[...exact].sort(([a], [b]) => b - a).map(([depth, e]) => `| ${depth} | exact NTK kernel ridge (${e.source}) | ${pct(e.accuracy)} | | | | |`),
  '',
];
const outDir = resolve(cli.text('out-dir', resolve(here, 'results')));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'ntk-random-features-accuracy.md'), md.join('\n'));
console.log(`\nwrote ${join(outDir, 'ntk-random-features-accuracy.md')}`);
