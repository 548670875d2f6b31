/**
 * Independent plain-TypeScript float64 references for the fully connected NTK
 * (SPEC §2.1), used only by the tests and the benchmark.
 *
 * - `ntkReference`: the SPEC recursion written literally from <x,z>, |x|, |z|
 *   (no row normalisation, no BLAS): rho^0 = <x,z>/(|x||z|) clamped to [-1, 1],
 *   Sigma^h = |x||z| k1(rho^(h-1)), dSigma^h = k0(rho^(h-1)),
 *   Theta^0 = <x,z>, Theta^h = Theta^(h-1) dSigma^h + Sigma^h.
 * - `empiricalNtk`: the NTK of one finite-width ReLU network
 *   f = W_(L+1) g_L, g_h = sqrt(2/width) relu(W_h g_(h-1)), g_0 = x,
 *   all weights N(0, 1), by explicit forward and backward passes.
 */

export type Rows = ArrayLike<ArrayLike<number>>;

export interface ReferenceResult {
  /** Theta^L, n x m row-major. */
  ntk: Float64Array;
  /** Sigma^L, n x m row-major. */
  nngp: Float64Array;
  n: number;
  m: number;
}

/** k0(t) = (pi - arccos t) / pi, t clamped to [-1, 1]. */
export function k0(t: number): number {
  const c = Math.min(1, Math.max(-1, t));
  return (Math.PI - Math.acos(c)) / Math.PI;
}

/** k1(t) = (sqrt(1 - t^2) + t (pi - arccos t)) / pi, t clamped to [-1, 1]. */
export function k1(t: number): number {
  const c = Math.min(1, Math.max(-1, t));
  return (Math.sqrt(1 - c * c) + c * (Math.PI - Math.acos(c))) / Math.PI;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
}

/** The raw (unclamped) cosine <x,z> / (|x||z|) exactly as the SPEC writes it. */
export function rawCosine(x: ArrayLike<number>, z: ArrayLike<number>): number {
  return dot(x, z) / (Math.sqrt(dot(x, x)) * Math.sqrt(dot(z, z)));
}

/**
 * Theta^L and Sigma^L for one pair of inputs, literally from SPEC §2.1.
 * `same` says that z is x itself (a diagonal entry): its cosine rho^0 is then
 * exactly 1 mathematically and is used as such (the computed <x,x>/|x|^2 can be
 * off by an ulp, which arccos turns into ~1e-8 relative error).
 */
export function ntkPair(x: ArrayLike<number>, z: ArrayLike<number>, depth: number, same = false): { ntk: number; nngp: number } {
  const sigma0 = dot(x, z);
  const nxz = Math.sqrt(dot(x, x)) * Math.sqrt(dot(z, z));
  if (nxz === 0) return { ntk: 0, nngp: 0 };
  let sigma = sigma0;
  let theta = sigma0;
  for (let h = 1; h <= depth; h++) {
    const rho = h === 1 && same ? 1 : Math.min(1, Math.max(-1, sigma / nxz)); // rho^(h-1)
    const dSigma = k0(rho);
    sigma = nxz * k1(rho);
    theta = theta * dSigma + sigma;
  }
  return { ntk: theta, nngp: sigma };
}

/**
 * Exact NTK and NNGP Gram matrices of the rows of X against the rows of Z
 * (Z = X when null; then the diagonal uses the exact cosine 1).
 */
export function ntkReference(X: Rows, Z: Rows | null, depth: number): ReferenceResult {
  const zs = Z ?? X;
  const n = X.length;
  const m = zs.length;
  const ntk = new Float64Array(n * m);
  const nngp = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const r = ntkPair(X[i], zs[j], depth, Z === null && i === j);
      ntk[i * m + j] = r.ntk;
      nngp[i * m + j] = r.nngp;
    }
  }
  return { ntk, nngp, n, m };
}

/** Splits a row-major buffer into row views. */
export function toRows(data: ArrayLike<number>, n: number, d: number): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const r = new Float64Array(d);
    for (let k = 0; k < d; k++) r[k] = data[i * d + k];
    rows.push(r);
  }
  return rows;
}

/** mulberry32: a small seeded 32-bit PRNG; returns uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box–Muller from a seeded uniform source. */
export function gaussian(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    // 53-bit uniform in (0, 1] for the radius so that log never sees 0.
    const u1 = 1 - (u() + u() / 4294967296);
    const u2 = u();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/** Fills a Float64Array of the given length with N(0, 1) samples. */
export function gaussianArray(rng: () => number, length: number): Float64Array {
  const a = new Float64Array(length);
  for (let i = 0; i < length; i++) a[i] = rng();
  return a;
}

/**
 * Empirical NTK and NNGP of one random finite-width ReLU network
 * f(x) = v . g_L(x), g_h = sqrt(2/width) relu(pre_h), pre_h = W_h g_(h-1),
 * g_0 = x, W_1 (width x d), W_h (width x width), v (width), all N(0, 1),
 * by explicit backpropagation:
 *
 *   NTK(x,z)  = <g_L(x), g_L(z)>                         (gradient in v)
 *             + sum_h <delta_h(x), delta_h(z)> <g_(h-1)(x), g_(h-1)(z)>   (in W_h)
 *   delta_L   = sqrt(2/width) v ⊙ step(pre_L)
 *   delta_h   = sqrt(2/width) step(pre_h) ⊙ (W_(h+1)^T delta_(h+1))
 *   NNGP(x,z) = <g_L(x), g_L(z)>.
 *
 * Returns symmetric n x n matrices over the rows of X.
 */
export function empiricalNtk(X: Rows, depth: number, width: number, seed: number): { ntk: Float64Array; nngp: Float64Array; n: number } {
  const n = X.length;
  const d = X[0].length;
  const rng = gaussian(seed);
  const W: Float64Array[] = [];
  W.push(gaussianArray(rng, width * d)); // W_1: width x d
  for (let h = 2; h <= depth; h++) W.push(gaussianArray(rng, width * width)); // W_h: width x width
  const v = gaussianArray(rng, width);
  const scale = Math.sqrt(2 / width);

  // Forward: g[h][i] for h = 0..L, pre[h][i] for h = 1..L (index h-1).
  const g: Float64Array[][] = [Array.from({ length: n }, (_, i) => Float64Array.from(X[i]))];
  const pre: Float64Array[][] = [];
  for (let h = 1; h <= depth; h++) {
    const Wh = W[h - 1];
    const inDim = h === 1 ? d : width;
    const preH: Float64Array[] = [];
    const gH: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const gin = g[h - 1][i];
      const p = new Float64Array(width);
      const out = new Float64Array(width);
      for (let a = 0; a < width; a++) {
        let s = 0;
        const off = a * inDim;
        for (let b = 0; b < inDim; b++) s += Wh[off + b] * gin[b];
        p[a] = s;
        out[a] = s > 0 ? scale * s : 0;
      }
      preH.push(p);
      gH.push(out);
    }
    pre.push(preH);
    g.push(gH);
  }

  // Backward: delta[h-1][i] = d f / d pre_h at input i.
  const delta: Float64Array[][] = new Array(depth);
  {
    const last: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const p = pre[depth - 1][i];
      const dl = new Float64Array(width);
      for (let a = 0; a < width; a++) dl[a] = p[a] > 0 ? scale * v[a] : 0;
      last.push(dl);
    }
    delta[depth - 1] = last;
  }
  for (let h = depth - 1; h >= 1; h--) {
    const Wn = W[h]; // W_(h+1): width x width
    const cur: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const next = delta[h][i];
      const p = pre[h - 1][i];
      const back = new Float64Array(width); // W_(h+1)^T delta_(h+1)
      for (let a = 0; a < width; a++) {
        const da = next[a];
        if (da === 0) continue;
        const off = a * width;
        for (let b = 0; b < width; b++) back[b] += Wn[off + b] * da;
      }
      for (let b = 0; b < width; b++) back[b] = p[b] > 0 ? scale * back[b] : 0;
      cur.push(back);
    }
    delta[h - 1] = cur;
  }

  const ntk = new Float64Array(n * n);
  const nngp = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const gp = dot(g[depth][i], g[depth][j]);
      let t = gp;
      for (let h = 1; h <= depth; h++) t += dot(delta[h - 1][i], delta[h - 1][j]) * dot(g[h - 1][i], g[h - 1][j]);
      ntk[i * n + j] = ntk[j * n + i] = t;
      nngp[i * n + j] = nngp[j * n + i] = gp;
    }
  }
  return { ntk, nngp, n };
}
