// Property tests of the exact kernels and the feature maps: any input gives a
// TypeError/RangeError naming the argument, or a result of the right shape
// with finite values equal to what the same rows give in contiguous form.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CNTKSketch,
  LeverageSelection,
  NTKRandomFeatures,
  NTKSketch,
  cntkKernel,
  cntkKernelSync,
  mapFromJSON,
  ntkKernel,
  ntkKernelSync,
  type FeatureMap,
} from '../../src/index.js';
import {
  CSR_FAULTS,
  FUZZ_RUNS,
  badOptionValue,
  csrOf,
  csrValues,
  expectCleanError,
  expectFinite,
  faultyCsr,
  fuzzParams,
  matrixCase,
  outcome,
} from './fuzz-helpers.js';

const d = 6, n = 3;

describe('fuzz: exact NTK kernel', () => {
  const reference = (rows: Float64Array) => ntkKernelSync({ data: rows, shape: [n, d] }, null, { depth: 2 });

  it('X of any kind: a clean error or the kernel of its rows (sync and async)', async () => {
    await fc.assert(
      // Any column count is valid for a kernel.
      fc.asyncProperty(matrixCase(n, d, ['wrong columns']), fc.boolean(), async (c, async) => {
        const r = await outcome(() => (async ? ntkKernel(c.value as never, null, { depth: 2 }) : ntkKernelSync(c.value as never, null, { depth: 2 })));
        if (c.rows === null) {
          expect(r.ok, c.label).toBe(false);
          if (!r.ok) expectCleanError(r.error, /X/);
          return;
        }
        expect(r.ok, c.label).toBe(true);
        if (!r.ok) return;
        expect(r.value.ntk.shape).toEqual([n, n]);
        expectFinite(r.value.ntk.data);
        // Same rows, same kernel (float32 inputs were rounded the same way in rows).
        const expected = reference(c.rows);
        // float32 results are rounded from float64 (relative 6e-8), below 2^-126 to float32's subnormals.
        const f32 = r.value.ntk.data instanceof Float32Array;
        for (let i = 0; i < n * n; i++) {
          const e = expected.ntk.data[i];
          expect(Math.abs(r.value.ntk.data[i] - e)).toBeLessThanOrEqual(f32 ? 6e-8 * Math.abs(e) + 2 ** -126 : 0);
        }
      }),
      fuzzParams(),
    );
  });

  it('options with a wrong value or an unknown key: a clean error naming the option', async () => {
    const X = { data: new Float64Array(n * d).fill(0.5), shape: [n, d] };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('depth', 'output', 'backend', 'memoryLimit', 'unknownKey'), badOptionValue, async (key, value) => {
        const options = { depth: 2, [key]: value };
        const r = await outcome(() => ntkKernel(X, null, options as never));
        if (r.ok) {
          // Only values that are in fact valid may pass.
          expect(key === 'memoryLimit' || key === 'depth' || key === 'output' || key === 'backend').toBe(true);
          expect(r.value.ntk?.shape ?? r.value.nngp.shape).toEqual([n, n]);
          return;
        }
        expectCleanError(r.error, new RegExp(key === 'unknownKey' ? 'unknownKey' : key === 'depth' ? 'depth' : key));
      }),
      fuzzParams(),
    );
  });
});

describe('fuzz: exact CNTK kernel', () => {
  it('images with any fault in shape or values: a clean error or a finite n x n kernel', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -1, max: 4 }), { minLength: 3, maxLength: 5 }),
        fc.constantFrom(0, NaN, Infinity),
        fc.boolean(),
        fc.constantFrom('valid', 'same', 'bogus'),
        fc.integer({ min: -1, max: 5 }),
        async (shape, poison, async, padding, filterSize) => {
          const size = shape.reduce((a, b) => a * Math.max(b, 0), 1);
          const data = new Float64Array(size).map((_, i) => ((i * 37) % 11) / 11 - 0.4);
          if (size > 0) data[size - 1] += poison;
          const X = { data, shape };
          const options = { depth: 1, filterSize, padding } as never;
          const r = await outcome(() => (async ? cntkKernel(X, null, options) : cntkKernelSync(X, null, options)));
          if (!r.ok) return expectCleanError(r.error, /X|filterSize|padding|depth/);
          expect(shape.length).toBe(4);
          expect(Number.isFinite(poison)).toBe(true);
          const k = (r.value as { ntk: { shape: number[]; data: ArrayLike<number> } }).ntk;
          expect(k.shape).toEqual([shape[0], shape[0]]);
          expectFinite(k.data);
        },
      ),
      fuzzParams(),
    );
  });
});

/** The maps built once; transforms are the property. */
const maps: Record<string, () => FeatureMap> = {
  NTKSketch: () => new NTKSketch({ inputDim: d, depth: 2, features: 32, seed: 3 }),
  NTKRandomFeatures: () => new NTKRandomFeatures({ inputDim: d, depth: 2, features: 32, seed: 3 }),
  LeverageSelection: () => {
    const pool = new NTKSketch({ inputDim: d, depth: 1, features: 64, seed: 3, exactCopies: false });
    const sample = { data: new Float64Array(16 * d).map((_, i) => Math.sin(i)), shape: [16, d] };
    return new LeverageSelection({ map: pool, features: 16, seed: 3 }).fitSync(sample);
  },
};

/** A selection computes the kernel it kept only. */
const kernelsOf = (name: string): ('ntk' | 'nngp')[] => (name === 'LeverageSelection' ? ['ntk'] : ['ntk', 'nngp']);

describe('fuzz: feature-map transforms', () => {
  for (const [name, make] of Object.entries(maps)) {
    it(`${name}: dense X of any kind gives a clean error or the features of its rows`, async () => {
      const map = make();
      await fc.assert(
        fc.asyncProperty(matrixCase(n, d), fc.boolean(), fc.constantFrom<'ntk' | 'nngp'>(...kernelsOf(name)), async (c, async, kernel) => {
          const r = await outcome(() => (async ? map.transform(c.value as never, { kernel }) : map.transformSync(c.value as never, { kernel })));
          if (c.rows === null) {
            expect(r.ok, c.label).toBe(false);
            if (!r.ok) expectCleanError(r.error, /X/);
            return;
          }
          if (!r.ok) throw r.error;
          expect(r.value.shape).toEqual([n, map.features]);
          expectFinite(r.value.data);
          const expected = map.transformSync({ data: c.rows, shape: [n, d] }, { kernel });
          // A float32 input is converted exactly to float64 rows, and the map converts either the same way.
          expect(Array.from(r.value.data)).toEqual(Array.from(expected.data));
        }),
        fuzzParams(),
      );
    });

    it(`${name}: CSR X with each structural fault gives a clean error naming X; valid CSR equals dense`, async () => {
      const map = make();
      await fc.assert(
        fc.asyncProperty(csrValues(n, d), fc.option(fc.constantFrom(...CSR_FAULTS), { freq: 3 }), fc.boolean(), async (values, fault, async) => {
          const X = fault === null ? csrOf(values, n, d) : faultyCsr(values, n, d, fault);
          const r = await outcome(() => (async ? map.transform(X as never) : map.transformSync(X as never)));
          if (fault !== null) {
            expect(r.ok, fault).toBe(false);
            if (!r.ok) expectCleanError(r.error, /X/);
            return;
          }
          if (!r.ok) throw r.error;
          const dense = map.transformSync({ data: values, shape: [n, d] });
          const got = r.value.data, want = dense.data;
          for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i])));
        }),
        fuzzParams(),
      );
    });

    it(`${name}: transform options with wrong values or unknown keys, and bad out buffers, give clean errors`, async () => {
      const map = make();
      const X = { data: new Float64Array(n * d).fill(0.25), shape: [n, d] };
      const badOut = fc.oneof(
        badOptionValue,
        fc.constantFrom(
          new Float64Array(n * map.features), new Float32Array(n * map.features - 1), new Int32Array(n * map.features),
          { data: new Float32Array(n * map.features), shape: [map.features, n] },
          { data: new Float32Array(2 * n * map.features), shape: [n, map.features], stride: [2 * map.features, 2] },
          X.data,
        ),
      );
      await fc.assert(
        fc.asyncProperty(fc.record({ kernel: fc.option(badOptionValue), out: fc.option(badOut), extra: fc.option(badOptionValue) }), async (o) => {
          const options: Record<string, unknown> = {};
          if (o.kernel !== null) options.kernel = o.kernel;
          if (o.out !== null) options.out = o.out;
          if (o.extra !== null) options.extra = o.extra;
          if (Object.keys(options).length === 0) options.extra = 1;
          const r = await outcome(() => map.transform(X, options as never));
          expect(r.ok).toBe(false);
          if (!r.ok) expectCleanError(r.error, /kernel|out|extra/);
        }),
        fuzzParams(),
      );
    });
  }

  it('CNTKSketch: images of any shape or value: clean error or finite n x features', async () => {
    const map = new CNTKSketch({ inputShape: [1, 4, 4], depth: 1, filterSize: 3, padding: 'same', features: 32, seed: 3 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -1, max: 5 }), { minLength: 2, maxLength: 5 }), fc.constantFrom(0, NaN, -Infinity), fc.boolean(), async (shape, poison, async) => {
        const size = shape.reduce((a, b) => a * Math.max(b, 0), 1);
        const data = new Float32Array(size).map((_, i) => Math.cos(i));
        if (size > 0) data[0] += poison;
        const X = { data, shape };
        const r = await outcome(() => (async ? map.transform(X) : map.transformSync(X)));
        if (!r.ok) return expectCleanError(r.error, /X/);
        expect(Number.isFinite(poison) || size === 0).toBe(true);
        expect(r.value.shape).toEqual([shape[0], map.features]);
        expectFinite(r.value.data);
      }),
      fuzzParams(),
    );
  });
});

describe('fuzz: map constructors and saved documents', () => {
  const ctorOptions = {
    NTKSketch: { inputDim: d, depth: 2, features: 32, seed: 1 },
    NTKRandomFeatures: { inputDim: d, depth: 2, features: 32, seed: 1 },
    CNTKSketch: { inputShape: [1, 4, 4], depth: 1, filterSize: 3, padding: 'same', features: 32, seed: 1 },
  } as const;
  const ctors = { NTKSketch, NTKRandomFeatures, CNTKSketch } as unknown as Record<string, new (o: unknown) => FeatureMap>;

  for (const [name, base] of Object.entries(ctorOptions)) {
    it(`${name}: one option replaced by a wrong value, or an unknown key, gives a clean error naming it (or a working map)`, async () => {
      const keys = [...Object.keys(base), 'dtype', 'memoryLimit', 'backend', 'approximation', 'sketchDim', 'bogusKey'];
      await fc.assert(
        fc.property(fc.constantFrom(...keys), badOptionValue, (key, value) => {
          let map: FeatureMap;
          try {
            map = new ctors[name]({ ...base, [key]: value });
          } catch (error) {
            expectCleanError(error, new RegExp(key));
            return;
          }
          // Accepted: it must work.
          expectWorking(map);
          map.dispose();
        }),
        fuzzParams(Math.max(FUZZ_RUNS, 60)),
      );
    });

    it(`${name}: a saved document with one field changed is refused naming it, or restores a working map`, async () => {
      const doc = JSON.parse(JSON.stringify(new ctors[name](base))) as Record<string, unknown>;
      const paths = fieldPaths(doc);
      await fc.assert(
        fc.property(fc.constantFrom(...paths), badOptionValue, (path, value) => {
          const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
          setPath(copy, path, value);
          const text = JSON.stringify(copy);
          let map: FeatureMap;
          try {
            map = mapFromJSON(text);
          } catch (error) {
            expectCleanError(error, /json|format|version/);
            return;
          }
          expectWorking(map);
        }),
        fuzzParams(Math.max(FUZZ_RUNS, 60)),
      );
    });
  }
});

/** An accepted map transforms one input (or refuses it for memory, e.g. a huge inputDim). */
function expectWorking(map: FeatureMap): void {
  let f;
  try {
    f = map.transformSync(oneInput(map));
  } catch (error) {
    expectCleanError(error, /memoryLimit/);
    return;
  }
  expect(f.shape).toEqual([1, map.features]);
  expectFinite(f.data);
}

/** One input of the map's layout (the accepted options may have changed inputDim). */
function oneInput(map: FeatureMap): { data: Float32Array; shape: number[] } {
  const layout = map.inputLayout;
  const shape = layout.kind === 'images' ? [1, ...layout.shape] : [1, layout.columns];
  return { data: new Float32Array(layout.columns).fill(0.5), shape };
}

/** Paths to every leaf of a JSON document (arrays: first and last element). */
export function fieldPaths(doc: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (doc === null || typeof doc !== 'object') return [prefix];
  const out: (string | number)[][] = prefix.length ? [prefix] : [];
  if (Array.isArray(doc)) {
    if (doc.length) out.push(...fieldPaths(doc[0], [...prefix, 0]));
    if (doc.length > 1) out.push(...fieldPaths(doc[doc.length - 1], [...prefix, doc.length - 1]));
    return out;
  }
  for (const [k, v] of Object.entries(doc)) out.push(...fieldPaths(v, [...prefix, k]));
  return out;
}

export function setPath(doc: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let o: Record<string | number, unknown> = doc;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]] = value;
}
