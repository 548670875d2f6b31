// The error contract of the maps and the regressors, by class: an argument of
// the wrong type is a TypeError, a value of the right type out of its range a
// RangeError, and the message names the argument. (The exact kernels have
// their own table in test/kernels.)
import { describe, expect, it } from 'vitest';
import {
  CNTKSketch,
  FeatureRidge,
  KernelRidgeRegression,
  LeverageSelection,
  NTKNystrom,
  NTKRandomFeatures,
  NTKSketch,
  RidgeRegression,
} from '../../src/index.js';

type Case = [label: string, call: () => unknown, kind: typeof TypeError | typeof RangeError, names: RegExp];

function check(cases: Case[]): void {
  for (const [label, call, kind, names] of cases) {
    let error: unknown = null;
    try {
      call();
    } catch (e) {
      error = e;
    }
    expect(error, label).toBeInstanceOf(kind);
    // A RangeError is not a TypeError and vice versa: the class itself is the contract.
    expect((error as Error).constructor, label).toBe(kind);
    expect((error as Error).message, label).toMatch(names);
  }
}

describe('error classes: TypeError for a wrong type, RangeError for a value out of range, naming the argument', () => {
  it('map constructors', () => {
    check([
      ['NTKSketch inputDim string', () => new NTKSketch({ inputDim: '8' as never, depth: 1, features: 16 }), TypeError, /inputDim/],
      ['NTKSketch inputDim 0', () => new NTKSketch({ inputDim: 0, depth: 1, features: 16 }), RangeError, /inputDim/],
      ['NTKSketch depth fractional', () => new NTKSketch({ inputDim: 8, depth: 1.5, features: 16 }), RangeError, /depth/],
      ['NTKSketch features null', () => new NTKSketch({ inputDim: 8, depth: 1, features: null as never }), TypeError, /features/],
      ['NTKSketch dtype', () => new NTKSketch({ inputDim: 8, depth: 1, features: 16, dtype: 'int8' as never }), RangeError, /dtype/],
      ['NTKRandomFeatures depth string', () => new NTKRandomFeatures({ inputDim: 8, depth: '2' as never, features: 16 }), TypeError, /depth/],
      ['NTKRandomFeatures features -4', () => new NTKRandomFeatures({ inputDim: 8, depth: 1, features: -4 }), RangeError, /features/],
      ['CNTKSketch inputShape not an array', () => new CNTKSketch({ inputShape: 'x', depth: 1, features: 16 } as never), TypeError, /inputShape/],
      ['CNTKSketch unknown option', () => new CNTKSketch({ imageShape: [1, 8, 8], depth: 1, features: 16 } as never), RangeError, /imageShape.*known: inputShape/],
      ['NTKNystrom landmarks 0', () => new NTKNystrom({ depth: 1, landmarks: 0 }), RangeError, /landmarks/],
      ['NTKNystrom sampling', () => new NTKNystrom({ depth: 1, landmarks: 4, sampling: 'random' as never }), RangeError, /sampling/],
      ['LeverageSelection map', () => new LeverageSelection({ map: {} as never, features: 4 }), TypeError, /map/],
    ]);
  });

  it('map transforms', () => {
    const map = new NTKSketch({ inputDim: 8, depth: 1, features: 16, seed: 1 });
    check([
      ['transform of a string', () => map.transformSync('rows' as never), TypeError, /X|rows/],
      ['transform of rows of the wrong width', () => map.transformSync({ data: new Float64Array(14), shape: [2, 7] }), RangeError, /8/],
      ['transform with an unknown kernel', () => map.transformSync({ data: new Float64Array(16), shape: [2, 8] }, { kernel: 'rbf' as never }), RangeError, /kernel/],
      ['transform out of the wrong type', () => map.transformSync({ data: new Float64Array(16), shape: [2, 8] }, { out: 'out' as never }), TypeError, /out/],
    ]);
    map.dispose();
  });

  it('regressors', () => {
    const sketch = new NTKSketch({ inputDim: 8, depth: 1, features: 16, seed: 1 });
    check([
      ['RidgeRegression lambda string', () => new RidgeRegression({ lambda: '1' as never }), TypeError, /lambda/],
      ['RidgeRegression lambda -1', () => new RidgeRegression({ lambda: -1 }), RangeError, /lambda/],
      ['KernelRidgeRegression lambda NaN', () => new KernelRidgeRegression({ lambda: NaN }), RangeError, /lambda/],
      ['FeatureRidge map', () => new FeatureRidge({ map: 3 as never }), TypeError, /map/],
      ['FeatureRidge validation 0.9', () => new FeatureRidge({ map: sketch, validation: 0.9 }), RangeError, /validation/],
      ['FeatureRidge solver', () => new FeatureRidge({ map: sketch, solver: 'qr' as never }), RangeError, /solver/],
      ['FeatureRidge fitIntercept', () => new FeatureRidge({ map: sketch, fitIntercept: 1 as never }), TypeError, /fitIntercept/],
      ['FeatureRidge lambdas not an array', () => new FeatureRidge({ map: sketch, lambdas: 1 as never }), TypeError, /lambdas/],
      ['FeatureRidge lambdas[1] negative', () => new FeatureRidge({ map: sketch, lambdas: [1, -1] }), RangeError, /lambdas\[1\]/],
    ]);
    sketch.dispose();
  });
});
