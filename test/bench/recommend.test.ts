import { describe, expect, it } from 'vitest';
import { loadBenchData } from '../../src/bench/data.js';
import { gramError } from '../../src/bench/fidelity.js';
import { selectMaps } from '../../src/bench/maps.js';
import { recommend } from '../../src/bench/recommend.js';
import { ntkKernel } from '../../src/kernels/ntk-kernel.js';
import { NTKNystrom } from '../../src/maps/ntk-nystrom.js';

describe('recommend with Nyström landmarks', () => {
  it('leaves rows for the landmarks on a small sample, measures their Gram error on the other rows, and skips counts the sample cannot hold', async () => {
    const data = await loadBenchData({ kind: 'digits' }, 480, 120, 0);
    const r = await recommend(data, selectMaps(['ntk-sketch', 'nystrom']), {
      totalRows: 600, features: [64, 256, 1024], depths: [1], fidelityRows: 500, rounds: 1, budgetSeconds: null, budgetBytes: null, dataFlags: '--data x', seed: 0,
    });
    expect(r.candidates.map((c) => `${c.map} ${c.features}`)).toEqual(['ntk-sketch 64', 'ntk-sketch 256', 'ntk-sketch 1024', 'nystrom 64', 'nystrom 256']);
    // 1,024 landmarks: the Gram error keeps its 100 fewest rows, which leaves 380 to choose from.
    expect(r.skipped).toEqual([{ map: 'nystrom', reason: '1024 landmarks need at least 1024 rows to choose from; the sample has 380' }]);
    // 256 landmarks: Gram error on the first 480 - 256 = 224 rows, landmarks from the other 256.
    const n = 224, d = data.d;
    const map = await new NTKNystrom({ depth: 1, landmarks: 256, inputDim: d, seed: 0, dtype: 'float32' }).fit({ data: data.train.X.subarray(n * d), shape: [480 - n, d] });
    const X = { data: data.train.X.subarray(0, n * d), shape: [n, d] };
    const expected = gramError((await map.transform(X)).data, n, 256, (await ntkKernel(X, null, { depth: 1, output: 'ntk' })).ntk.data);
    expect(r.candidates.find((c) => c.map === 'nystrom' && c.features === 256)!.gramError).toBe(expected);
  }, 60_000);
});
