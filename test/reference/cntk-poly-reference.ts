/**
 * The CNTK / CNN-GP recursion of SPEC §2.2 with the dual activations k1, k0
 * of layer h replaced by arbitrary functions (e.g. the polynomials P1^h, P0^h
 * that CNTKSketch sketches): the kernel a sketch with infinite sketch
 * dimension would compute, i.e. its polynomial-approximation floor. The
 * recursion of cntkPairReference, literal on the full pixel-pair tensors
 * (test use only, small images).
 */
import { cntkPairTensors, type CntkArch, type Dual, type ImageShape } from './cntk-reference.js';

export type { Dual };

/** CNTK and CNN-GP of one pair of images with duals k1(h, t), k0(h, t), h = 1..L. */
export function cntkPairWith(
  x: ArrayLike<number>,
  z: ArrayLike<number>,
  shape: ImageShape,
  arch: CntkArch,
  k1: Dual,
  k0: Dual,
  same = false,
): { ntk: number; nngp: number } {
  const { ntk, nngp } = cntkPairTensors(x, z, shape, arch, k1, k0, same);
  return { ntk, nngp };
}

/** n x n CNTK and CNN-GP matrices of a list of images with the given duals. */
export function cntkReferenceWith(
  X: Float64Array[],
  shape: ImageShape,
  arch: CntkArch,
  k1: Dual,
  k0: Dual,
): { ntk: Float64Array; nngp: Float64Array } {
  const n = X.length;
  const ntk = new Float64Array(n * n);
  const nngp = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const r = cntkPairWith(X[i], X[j], shape, arch, k1, k0, i === j);
      ntk[i * n + j] = ntk[j * n + i] = r.ntk;
      nngp[i * n + j] = nngp[j * n + i] = r.nngp;
    }
  }
  return { ntk, nngp };
}
