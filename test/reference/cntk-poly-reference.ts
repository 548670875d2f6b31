/**
 * The CNTK / CNN-GP recursion of SPEC §2.2 with the dual activations k1, k0
 * of layer h replaced by arbitrary functions (e.g. the polynomials P1^h, P0^h
 * that CNTKSketch sketches): the kernel a sketch with infinite sketch
 * dimension would compute, i.e. its polynomial-approximation floor. Written
 * literally on the full pixel-pair tensors like cntkPairReference (test use
 * only, small images).
 */
import {
  gridEdges,
  normalisers,
  patchOffset,
  patchSum,
  pixelInnerProducts,
  type CntkArch,
  type ImageShape,
} from './cntk-reference.js';

export type Dual = (layer: number, t: number) => number;

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
  const { height: H, width: W } = shape;
  const grids = gridEdges(shape, arch);
  const q = arch.filterSize;
  const o = patchOffset(arch);
  const S0 = pixelInnerProducts(x, z, shape);
  const Nx = normalisers(x, shape, arch);
  const Nz = normalisers(z, shape, arch);
  let gamma = patchSum(S0, H, W, grids[1][0], grids[1][1], q, o);
  let xi = gamma.slice();
  for (let h = 1; h <= arch.depth; h++) {
    const [gh, gw] = grids[h];
    const G = gh * gw;
    const sigma = new Float64Array(G * G);
    const T = new Float64Array(G * G);
    for (let p = 0; p < G; p++) {
      for (let p2 = 0; p2 < G; p2++) {
        const nn = Nx[h - 1][p] * Nz[h - 1][p2];
        const e = p * G + p2;
        if (!(nn > 0)) continue;
        const rho = same && p === p2 ? 1 : Math.max(-1, Math.min(1, gamma[e] / Math.sqrt(nn)));
        sigma[e] = Math.sqrt(nn) * k1(h, rho);
        T[e] = xi[e] * k0(h, rho) + sigma[e];
      }
    }
    if (h < arch.depth) {
      const [hn, wn] = grids[h + 1];
      gamma = patchSum(sigma, gh, gw, hn, wn, q, o).map((v) => v / (q * q));
      xi = patchSum(T, gh, gw, hn, wn, q, o).map((v) => v / (q * q));
    } else {
      let st = 0;
      let ss = 0;
      for (let e = 0; e < G * G; e++) {
        st += T[e];
        ss += sigma[e];
      }
      return { ntk: st / (G * G), nngp: ss / (G * G) };
    }
  }
  throw new Error('unreachable');
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
