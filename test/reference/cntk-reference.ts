/**
 * Independent plain-TypeScript float64 references for the convolutional NTK
 * with global average pooling (SPEC §2.2), used only by the tests and the
 * benchmark.
 *
 * - `cntkPairReference`: the SPEC recursion written literally on the full
 *   (HW) x (HW) pixel-pair tensors, with the patch sum
 *   P[M]_{p,p'} = sum_{d in [q]^2} M_{p+d, p'+d} as a double loop over the q^2
 *   taps (no separable sums, no displacement slabs, no scaling).
 * - `empiricalCntk`: the NTK of one finite-width CNN
 *   f_1 = conv(x, W_1), g_h = sqrt(2/C_h) relu(f_h), f_(h+1) = conv(g_h, W_(h+1)) / q,
 *   out = v . mean_p g_L, all weights N(0, 1), by explicit forward and
 *   backward passes.
 */
import { gaussianArray, k0, k1, mulberry32 } from './ntk-reference.js';

export type Padding = 'valid' | 'same';

export interface CntkArch {
  depth: number;
  filterSize: number;
  padding: Padding;
}

export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/** Grid edges (rows, cols) of layers 0..L. */
export function gridEdges(shape: ImageShape, arch: CntkArch): [number, number][] {
  const out: [number, number][] = [];
  for (let h = 0; h <= arch.depth; h++) {
    const shrink = arch.padding === 'same' ? 0 : h * (arch.filterSize - 1);
    out.push([shape.height - shrink, shape.width - shrink]);
  }
  return out;
}

/** First tap of a patch relative to its output pixel. */
function patchOffset(arch: CntkArch): number {
  return arch.padding === 'same' ? (arch.filterSize - 1) / 2 : 0;
}

/**
 * The patch sum on both grids, literally: out[p][p'] = sum over (d1, d2) of
 * M[(i+d1-o, j+d2-o)][(i'+d1-o, j'+d2-o)], entries outside the input grid
 * being zero (zero padding). M is (hi wi) x (hi wi), out (ho wo) x (ho wo).
 */
export function patchSum(M: Float64Array, hi: number, wi: number, ho: number, wo: number, q: number, o: number): Float64Array {
  const gi = hi * wi;
  const go = ho * wo;
  const out = new Float64Array(go * go);
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < wo; j++) {
      for (let i2 = 0; i2 < ho; i2++) {
        for (let j2 = 0; j2 < wo; j2++) {
          let s = 0;
          for (let d1 = 0; d1 < q; d1++) {
            for (let d2 = 0; d2 < q; d2++) {
              const a = i + d1 - o;
              const b = j + d2 - o;
              const a2 = i2 + d1 - o;
              const b2 = j2 + d2 - o;
              if (a < 0 || a >= hi || b < 0 || b >= wi || a2 < 0 || a2 >= hi || b2 < 0 || b2 >= wi) continue;
              s += M[(a * wi + b) * gi + (a2 * wi + b2)];
            }
          }
          out[(i * wo + j) * go + (i2 * wo + j2)] = s;
        }
      }
    }
  }
  return out;
}

/** The patch sum of a per-pixel map (the diagonal of patchSum). */
function patchSumDiagonal(v: Float64Array, hi: number, wi: number, ho: number, wo: number, q: number, o: number): Float64Array {
  const out = new Float64Array(ho * wo);
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < wo; j++) {
      let s = 0;
      for (let d1 = 0; d1 < q; d1++) {
        for (let d2 = 0; d2 < q; d2++) {
          const a = i + d1 - o;
          const b = j + d2 - o;
          if (a < 0 || a >= hi || b < 0 || b >= wi) continue;
          s += v[a * wi + b];
        }
      }
      out[i * wo + j] = s;
    }
  }
  return out;
}

/**
 * The diagonal normalisers N^h_x(p), h = 1..L (index h - 1), as SPEC §2.2
 * writes them: N^1 = patch sum of |x_p|^2, N^(h+1) = patch sum of N^h / q^2.
 * x is one C x H x W image.
 */
export function normalisers(x: ArrayLike<number>, shape: ImageShape, arch: CntkArch): Float64Array[] {
  const { channels: C, height: H, width: W } = shape;
  const grids = gridEdges(shape, arch);
  const q = arch.filterSize;
  const o = patchOffset(arch);
  let cur: Float64Array = new Float64Array(H * W);
  for (let p = 0; p < H * W; p++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[c * H * W + p] ** 2;
    cur[p] = s;
  }
  const out: Float64Array[] = [];
  for (let h = 1; h <= arch.depth; h++) {
    const [hi, wi] = grids[h - 1];
    const [ho, wo] = grids[h];
    const next = patchSumDiagonal(cur, hi, wi, ho, wo, q, o);
    if (h > 1) for (let p = 0; p < next.length; p++) next[p] /= q * q;
    out.push(next);
    cur = next;
  }
  return out;
}

export interface PairTensors {
  /** Gamma^h for h = 1..L (index h - 1), (H_h W_h)^2 row-major. */
  gamma: Float64Array[];
  ntk: number;
  nngp: number;
}

/** S^0_{p,p'} = <x_p, z_p'> over the channels, (H W)^2 row-major. */
function pixelInnerProducts(x: ArrayLike<number>, z: ArrayLike<number>, shape: ImageShape): Float64Array {
  const { channels: C, height: H, width: W } = shape;
  const G0 = H * W;
  const S0 = new Float64Array(G0 * G0);
  for (let p = 0; p < G0; p++) {
    for (let p2 = 0; p2 < G0; p2++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += x[c * G0 + p] * z[c * G0 + p2];
      S0[p * G0 + p2] = s;
    }
  }
  return S0;
}

/** Dual activations of layer h = 1..L at a cosine t in [-1, 1]: k1 (Sigma) or k0 (dSigma). */
export type Dual = (layer: number, t: number) => number;

/**
 * CNTK and CNN-GP of one pair of C x H x W images, literally from SPEC §2.2.
 * `same` says that z is x itself: rho on p = p' is then exactly 1
 * mathematically and is used as such. A zero normaliser gives Sigma = 0 and
 * dSigma = 0 (the network's relu and step at a zero pre-activation).
 */
export function cntkPairReference(
  x: ArrayLike<number>,
  z: ArrayLike<number>,
  shape: ImageShape,
  arch: CntkArch,
  same = false,
): PairTensors {
  return cntkPairTensors(x, z, shape, arch, (_, t) => k1(t), (_, t) => k0(t), same);
}

/** The recursion of cntkPairReference with the duals of layer h given (k1, k0 of SPEC §2.2, or others). */
export function cntkPairTensors(
  x: ArrayLike<number>,
  z: ArrayLike<number>,
  shape: ImageShape,
  arch: CntkArch,
  k1h: Dual,
  k0h: Dual,
  same = false,
): PairTensors {
  const { height: H, width: W } = shape;
  const grids = gridEdges(shape, arch);
  const q = arch.filterSize;
  const o = patchOffset(arch);
  const S0 = pixelInnerProducts(x, z, shape);
  const Nx = normalisers(x, shape, arch);
  const Nz = normalisers(z, shape, arch);
  const gammas: Float64Array[] = [];
  let gamma = patchSum(S0, H, W, grids[1][0], grids[1][1], q, o);
  let xi = gamma.slice();
  let ntk = 0;
  let nngp = 0;
  for (let h = 1; h <= arch.depth; h++) {
    gammas.push(gamma);
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
        sigma[e] = Math.sqrt(nn) * k1h(h, rho);
        T[e] = xi[e] * k0h(h, rho) + sigma[e];
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
      ntk = st / (G * G);
      nngp = ss / (G * G);
    }
  }
  return { gamma: gammas, ntk, nngp };
}

/** Splits an n x C x H x W buffer into images. */
export function toImageList(data: ArrayLike<number>, n: number, shape: ImageShape): Float64Array[] {
  const size = shape.channels * shape.height * shape.width;
  return Array.from({ length: n }, (_, i) => Float64Array.from({ length: size }, (_, k) => data[i * size + k]));
}

/** n x m CNTK and CNN-GP matrices (Z = X when null; then pairs of an image with itself use rho = 1 on p = p'). */
export function cntkReference(
  X: Float64Array[],
  Z: Float64Array[] | null,
  shape: ImageShape,
  arch: CntkArch,
): { ntk: Float64Array; nngp: Float64Array } {
  const zs = Z ?? X;
  const n = X.length;
  const m = zs.length;
  const ntk = new Float64Array(n * m);
  const nngp = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const r = cntkPairReference(X[i], zs[j], shape, arch, Z === null && i === j);
      ntk[i * m + j] = r.ntk;
      nngp[i * m + j] = r.nngp;
    }
  }
  return { ntk, nngp };
}

/**
 * Standard normal samples by Marsaglia's polar method from a seeded 53-bit
 * uniform source (no trigonometry: several times faster than Box–Muller,
 * which matters for the millions of weights of a wide CNN).
 */
export function fastGaussian(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    for (;;) {
      const a = 2 * (u() + u() / 4294967296) - 1;
      const b = 2 * (u() + u() / 4294967296) - 1;
      const r2 = a * a + b * b;
      if (r2 === 0 || r2 >= 1) continue;
      const f = Math.sqrt((-2 * Math.log(r2)) / r2);
      spare = b * f;
      return a * f;
    }
  };
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  // Four partial sums: shorter dependency chains, several times faster in V8.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[ao + k] * b[bo + k];
    s1 += a[ao + k + 1] * b[bo + k + 1];
    s2 += a[ao + k + 2] * b[bo + k + 2];
    s3 += a[ao + k + 3] * b[bo + k + 3];
  }
  for (; k < len; k++) s0 += a[ao + k] * b[bo + k];
  return s0 + s1 + (s2 + s3);
}

/**
 * Empirical NTK and NNGP of one random finite-width CNN (SPEC §2.2):
 *
 *   f_1 = conv(x, W_1),  g_h = sqrt(2/width) relu(f_h),
 *   f_(h+1) = conv(g_h, W_(h+1)) / q,  out = v . mean_p g_L,
 *
 * conv(g, W)(p)_c = sum_{d, c'} W[d][c][c'] g(p + d - o)_c' (zero padding for
 * 'same'), all weights N(0, 1). By explicit backpropagation, with
 * delta_h(p) = d out / d f_h(p):
 *
 *   NTK(x, z) = <mean g_L(x), mean g_L(z)>                                 (v)
 *     + sum_h s_h^2 sum_{p,p'} <delta_h(x)(p), delta_h(z)(p')>
 *                 sum_d <g_(h-1)(x)(p+d-o), g_(h-1)(z)(p'+d-o)>            (W_h)
 *   (s_1 = 1, s_h = 1/q), NNGP(x, z) = <mean g_L(x), mean g_L(z)>.
 *
 * images are C x H x W; returns symmetric n x n matrices.
 */
export function empiricalCntk(
  images: Float64Array[],
  shape: ImageShape,
  arch: CntkArch,
  width: number,
  seed: number,
): { ntk: Float64Array; nngp: Float64Array; n: number } {
  const { channels: C, height: H, width: W } = shape;
  const n = images.length;
  const L = arch.depth;
  const q = arch.filterSize;
  const o = patchOffset(arch);
  const grids = gridEdges(shape, arch);
  const rng = fastGaussian(seed);
  const chans = (h: number) => (h === 0 ? C : width);
  // Weights W_h[d][cout][cin], d = d1 q + d2.
  const Ws: Float64Array[] = [];
  for (let h = 1; h <= L; h++) Ws.push(gaussianArray(rng, q * q * width * chans(h - 1)));
  const v = gaussianArray(rng, width);
  const act = Math.sqrt(2 / width);
  const sOf = (h: number) => (h === 1 ? 1 : 1 / q);

  // Activations pixel-major: g[h][i] is (H_h W_h) x C_h.
  const g: Float64Array[][] = [
    images.map((img) => {
      const out = new Float64Array(H * W * C);
      for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[p * C + c] = img[c * H * W + p];
      return out;
    }),
  ];
  const f: Float64Array[][] = [];
  for (let h = 1; h <= L; h++) {
    const [hi, wi] = grids[h - 1];
    const [ho, wo] = grids[h];
    const cin = chans(h - 1);
    const Wh = Ws[h - 1];
    const s = sOf(h);
    const fH: Float64Array[] = [];
    const gH: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const gin = g[h - 1][i];
      const pre = new Float64Array(ho * wo * width);
      // Loop over (tap, output channel) outside the pixels so that one filter
      // row stays in cache while all pixels use it.
      for (let d1 = 0; d1 < q; d1++) {
        for (let d2 = 0; d2 < q; d2++) {
          const wd = (d1 * q + d2) * width * cin;
          for (let co = 0; co < width; co++) {
            const wrow = wd + co * cin;
            for (let a = 0; a < ho; a++) {
              const ai = a + d1 - o;
              if (ai < 0 || ai >= hi) continue;
              for (let b = 0; b < wo; b++) {
                const bi = b + d2 - o;
                if (bi < 0 || bi >= wi) continue;
                pre[(a * wo + b) * width + co] += dot(Wh, wrow, gin, (ai * wi + bi) * cin, cin);
              }
            }
          }
        }
      }
      const out = new Float64Array(pre.length);
      for (let k = 0; k < pre.length; k++) {
        pre[k] *= s;
        out[k] = pre[k] > 0 ? act * pre[k] : 0;
      }
      fH.push(pre);
      gH.push(out);
    }
    f.push(fH);
    g.push(gH);
  }

  // Backward: delta[h-1][i] = d out / d f_h, (H_h W_h) x width.
  const delta: Float64Array[][] = new Array(L);
  {
    const [hl, wl] = grids[L];
    const GL = hl * wl;
    delta[L - 1] = f[L - 1].map((pre) => {
      const dl = new Float64Array(pre.length);
      for (let p = 0; p < GL; p++) for (let c = 0; c < width; c++) if (pre[p * width + c] > 0) dl[p * width + c] = (act * v[c]) / GL;
      return dl;
    });
  }
  for (let h = L - 1; h >= 1; h--) {
    // d out / d g_h from delta_(h+1) through W_(h+1), then through relu.
    const [hi, wi] = grids[h];
    const [ho, wo] = grids[h + 1];
    const Wn = Ws[h];
    const s = sOf(h + 1);
    delta[h - 1] = delta[h].map((dn, i) => {
      const back = new Float64Array(hi * wi * width);
      for (let d1 = 0; d1 < q; d1++) {
        for (let d2 = 0; d2 < q; d2++) {
          const wd = (d1 * q + d2) * width * width;
          for (let co = 0; co < width; co++) {
            const wrow = wd + co * width;
            for (let a = 0; a < ho; a++) {
              const ai = a + d1 - o;
              if (ai < 0 || ai >= hi) continue;
              for (let b = 0; b < wo; b++) {
                const bi = b + d2 - o;
                if (bi < 0 || bi >= wi) continue;
                const dc = s * dn[(a * wo + b) * width + co];
                if (dc === 0) continue;
                const pi = (ai * wi + bi) * width;
                for (let ci = 0; ci < width; ci++) back[pi + ci] += dc * Wn[wrow + ci];
              }
            }
          }
        }
      }
      const pre = f[h - 1][i];
      for (let k = 0; k < back.length; k++) back[k] = pre[k] > 0 ? act * back[k] : 0;
      return back;
    });
  }

  const meanL = g[L].map((gl) => {
    const [hl, wl] = grids[L];
    const m = new Float64Array(width);
    for (let p = 0; p < hl * wl; p++) for (let c = 0; c < width; c++) m[c] += gl[p * width + c] / (hl * wl);
    return m;
  });
  const ntk = new Float64Array(n * n);
  const nngp = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const gp = dot(meanL[i], 0, meanL[j], 0, width);
      let t = gp;
      for (let h = 1; h <= L; h++) {
        const [hi, wi] = grids[h - 1];
        const [ho, wo] = grids[h];
        const cin = chans(h - 1);
        const Gi = hi * wi;
        const Go = ho * wo;
        const gx = g[h - 1][i];
        const gz = g[h - 1][j];
        const dx = delta[h - 1][i];
        const dz = delta[h - 1][j];
        // <g_(h-1)(x)(a), g_(h-1)(z)(b)> for all input pixel pairs.
        const gg = new Float64Array(Gi * Gi);
        for (let a = 0; a < Gi; a++) for (let b = 0; b < Gi; b++) gg[a * Gi + b] = dot(gx, a * cin, gz, b * cin, cin);
        const B = patchSum(gg, hi, wi, ho, wo, q, o);
        let sum = 0;
        for (let p = 0; p < Go; p++) for (let p2 = 0; p2 < Go; p2++) sum += dot(dx, p * width, dz, p2 * width, width) * B[p * Go + p2];
        t += sOf(h) ** 2 * sum;
      }
      ntk[i * n + j] = ntk[j * n + i] = t;
      nngp[i * n + j] = nngp[j * n + i] = gp;
    }
  }
  return { ntk, nngp, n };
}
