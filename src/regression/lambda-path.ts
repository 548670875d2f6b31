/**
 * Validation error along a ridge lambda path, from sufficient statistics only
 * (no second pass over the rows, no features kept).
 *
 * The fit part gives the centred system A (m x m, symmetric positive
 * semi-definite) and B (m x k); lambda gives W(lambda) = (A + lambda I)^-1 B
 * and the intercept b = ybar - W^T mu. The validation part gives its own
 * statistics A_v = Phi_v^T Phi_v, Phi_v^T Y_v, s_v = Phi_v^T 1, Y_v^T 1 and
 * sum y^2, from which the validation squared error is exact:
 *
 *     sum ||y - Phi W - b||^2 = sum y^2 - 2 tr(W^T Phi_v^T Y_v) - 2 b^T Y_v^T 1
 *                               + tr(W^T A_v W) + 2 b^T W^T s_v + n_v b^T b.
 *
 * Three ways to get W(lambda), same errors up to rounding (eigen, cholesky) or
 * to a stated tolerance (krylov):
 *
 * - 'eigen': one eigendecomposition A = V E V^T, then W = V (E + lambda)^-1 V^T B.
 *   About 14-19 Cholesky factorisations of time at m = 4,096-12,288 on a 2-core machine.
 * - 'cholesky': one Cholesky solve per lambda.
 *   (Both score a chunk of lambdas with one m x m x (lambdas * k) GEMM.)
 * - 'krylov': W(lambda) for every lambda from one block Krylov space of A
 *   started at B: Krylov spaces are shift-invariant, K_s(A + lambda I, B) =
 *   K_s(A, B), so s steps of block Lanczos (full reorthogonalisation) give the
 *   Galerkin (block conjugate-gradient) solution of every shifted system at
 *   once, W(lambda) = Q (T + lambda I)^-1 E_1 R_0 (BlockLanczos). A step costs
 *   one pass over A (an m x m x k product, memory-bound) plus the
 *   reorthogonalisation; the errors are evaluated in the basis at growing
 *   intervals (KrylovErrors) until `judge` lets the path stop. The lambda
 *   finally used is then solved exactly by the caller, so the tolerance
 *   bounds only the path's errors, not the model.
 */
import { checkMemory } from '../core/arrays.js';
import { native } from '../core/native.js';
import { checkAborted } from '../core/steps.js';
import { MIN_RCOND } from './ridge.js';

export type PathSolver = 'eigen' | 'cholesky' | 'krylov';

/** The statistics a path needs. */
export interface PathProblem {
  m: number;
  k: number;
  /** Centred fit-part Gram matrix, full symmetric m x m (row-major). */
  a: Float64Array;
  /** Centred fit-part Phi^T Y, m x k. */
  b: Float64Array;
  /** Feature means and target means of the fit part (zero without an intercept). */
  mu: Float64Array;
  ybar: Float64Array;
  /** Validation part, uncentred: full symmetric Phi_v^T Phi_v, Phi_v^T Y_v (m x k), Phi_v^T 1, Y_v^T 1, sum y^2, rows. */
  validation: { gram: Float64Array; cross: Float64Array; sums: Float64Array; ysum: Float64Array; yy: number; rows: number };
}

/** What a path computed. */
export interface PathReport {
  /** Mean squared error per output on the validation rows, per lambda (Infinity where a solve would be unreliable). */
  errors: number[];
  solver: PathSolver;
  /** Krylov: block Lanczos steps taken (k basis vectors each); 0 otherwise. */
  iterations: number;
  /** Krylov: whether the path settled before the step limit (see `judge`); true otherwise. */
  converged: boolean;
  /**
   * Krylov: lambdas whose errors were still moving by more than
   * KRYLOV_TOLERANCE when the path stopped (their errors are estimates, each
   * clearly above the least); 0 otherwise.
   */
  unsettled: number;
}

/** Relative change of every lambda's validation error below which the Krylov path stops. */
export const KRYLOV_TOLERANCE = 1e-6;
/** Most block Lanczos steps (also bounded by m / k: the basis cannot outgrow R^m). */
export const KRYLOV_MAX_STEPS = 800;
/** Bytes of weights evaluated at once (lambdas are taken in chunks below this). */
const CHUNK_BYTES = 2 ** 27;

type Gemm = (transA: boolean, rows: number, cols: number, inner: number, x: Float64Array, y: Float64Array, c: Float64Array, alpha?: number, beta?: number) => Promise<void>;

const gemm: Gemm = async (transA, rows, cols, inner, x, y, c, alpha = 1, beta = 0) => {
  await native().gemm({ transA, transB: false, m: rows, n: cols, k: inner, alpha, a: x, lda: transA ? rows : inner, b: y, ldb: cols, beta, c, ldc: cols }, true);
};

/**
 * Bytes the path needs beyond the problem's own arrays (the caller checks
 * them against its memory limit); for 'krylov', with `steps` block steps:
 * the basis and G = Q^T A_v Q.
 */
export function pathBytes(m: number, k: number, lambdas: number, solver: PathSolver, steps = Math.min(Math.ceil(m / k), 256)): number {
  if (solver === 'krylov') return 8 * m * k * (steps + 1) + 8 * (steps * k) ** 2;
  const weights = 2 * 8 * m * k * Math.min(lambdas, chunkSize(m, k));
  return solver === 'eigen' ? 8 * m * m + weights : weights;
}

function chunkSize(m: number, k: number): number {
  return Math.max(1, Math.floor(CHUNK_BYTES / (16 * m * k)));
}

/**
 * Validation errors of W(lambda) for the given absolute lambdas. A lambda is
 * refused (error Infinity) under the acceptance rule of a direct solve:
 * (e_min + lambda) < (e_max + lambda) * MIN_RCOND * m, with e_min and e_max the
 * extreme eigenvalues of A (Krylov: e_min taken as 0 and e_max the largest
 * Ritz value, which is conservative).
 */
export async function validationPath(p: PathProblem, lambdas: readonly number[], solver: PathSolver, memoryLimit: number, signal?: AbortSignal): Promise<PathReport> {
  checkAborted(signal);
  checkMemory(`FeatureRidge: the ${solver} lambda path`, pathBytes(p.m, p.k, lambdas.length, solver), memoryLimit);
  if (solver === 'eigen') return { errors: await eigenPath(p, lambdas), solver, iterations: 0, converged: true, unsettled: 0 };
  if (solver === 'cholesky') return { errors: await choleskyPath(p, lambdas, signal), solver, iterations: 0, converged: true, unsettled: 0 };
  return krylovPath(p, lambdas, signal);
}

/**
 * Mean squared validation error per output of one lambda, from the sums of
 * its weights w_t (output t) the formula above needs, at `at + t` in each
 * array: quad = w_t^T A_v w_t, cross = w_t^T Phi_v^T y_t, muW = mu^T w_t and
 * sW = s_v^T w_t; the intercept is b_t = ybar_t - muW.
 */
function validationMse(p: PathProblem, quad: Float64Array, cross: Float64Array, muW: Float64Array, sW: Float64Array, at: number): number {
  const v = p.validation;
  let total = v.yy;
  for (let t = 0; t < p.k; t++) {
    const b = p.ybar[t] - muW[at + t];
    total += quad[at + t] - 2 * cross[at + t] + 2 * b * sW[at + t] - 2 * b * v.ysum[t] + v.rows * b * b;
  }
  return Math.max(0, total) / (v.rows * p.k);
}

/**
 * Errors of `count` weight matrices stored side by side in w (m x count*k:
 * lambda l's output t in column l*k + t): one product with A_v for all.
 */
async function weightErrors(p: PathProblem, w: Float64Array, count: number): Promise<number[]> {
  const { m, k, mu } = p, v = p.validation, cols = count * k;
  const avw = new Float64Array(m * cols);
  await gemm(false, m, cols, m, v.gram, w, avw);
  const quad = new Float64Array(cols), cross = new Float64Array(cols), muW = new Float64Array(cols), sW = new Float64Array(cols);
  for (let j = 0; j < m; j++) {
    const row = j * cols, bj = j * k;
    for (let c = 0; c < cols; c++) {
      const x = w[row + c];
      quad[c] += x * avw[row + c];
      cross[c] += x * v.cross[bj + (c % k)];
      muW[c] += x * mu[j];
      sW[c] += x * v.sums[j];
    }
  }
  return Array.from({ length: count }, (_, l) => validationMse(p, quad, cross, muW, sW, l * k));
}

/** Runs `fill(chunk, w)` for chunks of lambdas; fill writes the chunk's weights (or returns false per lambda to refuse it). */
async function chunked(
  p: PathProblem,
  lambdas: readonly number[],
  fill: (chunk: readonly number[], w: Float64Array) => Promise<boolean[]>,
): Promise<number[]> {
  const out: number[] = [];
  const size = chunkSize(p.m, p.k);
  for (let start = 0; start < lambdas.length; start += size) {
    const chunk = lambdas.slice(start, start + size);
    const w = new Float64Array(p.m * chunk.length * p.k);
    const accepted = await fill(chunk, w);
    const e = await weightErrors(p, w, chunk.length);
    for (let l = 0; l < chunk.length; l++) out.push(accepted[l] ? e[l] : Infinity);
  }
  return out;
}

async function eigenPath(p: PathProblem, lambdas: readonly number[]): Promise<number[]> {
  const { m, k } = p;
  const evals = new Float64Array(m), vt = new Float64Array(m * m), status = new Float64Array(1);
  await native().symmetricEigh({ matrix: p.a, m, eigenvalues: evals, eigenvectors: vt, status }, true);
  if (status[0] !== 0) throw new RangeError(`FeatureRidge: the eigendecomposition failed to converge (info ${status[0]})`);
  const c = new Float64Array(m * k);
  await gemm(false, m, k, m, vt, p.b, c); // C = V^T B
  const emin = Math.max(evals[0], 0), emax = Math.max(evals[m - 1], 0);
  return chunked(p, lambdas, async (chunk, w) => {
    const cols = chunk.length * k, scaled = new Float64Array(m * cols);
    for (let j = 0; j < m; j++) {
      const e = Math.max(evals[j], 0);
      for (let l = 0; l < chunk.length; l++) {
        const d = 1 / (e + chunk[l]);
        for (let t = 0; t < k; t++) scaled[j * cols + l * k + t] = c[j * k + t] * d;
      }
    }
    await gemm(true, m, cols, m, vt, scaled, w); // W = V (E + lambda)^-1 C
    return chunk.map((lambda) => acceptable(emin, emax, lambda, m));
  });
}

async function choleskyPath(p: PathProblem, lambdas: readonly number[], signal?: AbortSignal): Promise<number[]> {
  const { m, k } = p;
  const one = new Float64Array(m * k), status = new Float64Array(2);
  return chunked(p, lambdas, async (chunk, w) => {
    const ok: boolean[] = [];
    const cols = chunk.length * k;
    for (let l = 0; l < chunk.length; l++) {
      checkAborted(signal);
      await native().ridgeSolve({ gram: p.a, m, rhs: p.b, k, lambda: chunk[l], weights: one, status }, true);
      ok.push(status[0] === 0 && status[1] >= MIN_RCOND);
      for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) w[j * cols + l * k + t] = one[j * k + t];
    }
    return ok;
  });
}

function acceptable(emin: number, emax: number, lambda: number, m: number): boolean {
  return emin + lambda >= (emax + lambda) * MIN_RCOND * m;
}

/**
 * Block Lanczos with full reorthogonalisation on A, started at the k columns
 * of B: after s steps the basis Q (m x sk) spans the block Krylov space
 * K_s(A, B) (which contains every column's own Krylov space) and
 * T = Q^T A Q is block tridiagonal with k x k blocks: diagonal blocks A_i,
 * sub-diagonal blocks B_i (upper triangular) from A Q_i = Q_{i-1} B_{i-1}^T +
 * Q_i A_i + Q_{i+1} B_i. The Galerkin solution of (A + lambda I) X = B in that
 * space is X = Q (T + lambda I)^-1 E_1 R_0 with B = Q_0 R_0, for every lambda.
 * Columns that become dependent are deflated (kept as zero vectors).
 */
class BlockLanczos {
  /** Basis vectors as rows (block i: rows i k .. i k + k - 1), m values each. */
  private basis: Float64Array;
  /** Diagonal blocks A_i and sub-diagonal blocks B_i (k x k, row-major). */
  readonly diag: Float64Array[] = [];
  readonly sub: Float64Array[] = [];
  /** B = Q_0 R_0. */
  readonly r0: Float64Array;
  /** Whether the space stopped growing (invariant, or all of R^m): the solutions are then exact. */
  done = false;
  private readonly packed: Float64Array;
  private readonly product: Float64Array;

  constructor(private readonly m: number, private readonly k: number, b: Float64Array) {
    this.basis = new Float64Array(Math.min(m, 8 * k) * m + k * m);
    this.packed = new Float64Array(m * k);
    this.product = new Float64Array(m * k);
    // The first block: the columns of B as rows, orthonormalised.
    for (let j = 0; j < m; j++) for (let c = 0; c < k; c++) this.basis[c * m + j] = b[j * k + c];
    const norms = Array.from({ length: k }, (_, c) => norm(this.basis.subarray(c * m, (c + 1) * m)));
    this.r0 = this.orthonormalize(0, norms);
    if (this.r0.every((x) => x === 0)) this.done = true;
  }

  /** Steps taken (diagonal blocks known). */
  get steps(): number {
    return this.diag.length;
  }

  /** Basis rows of the first `steps` blocks. */
  rows(): Float64Array {
    return this.basis.subarray(0, this.steps * this.k * this.m);
  }

  /** One step: A Q_i, full reorthogonalisation (classical Gram-Schmidt twice), the next block. */
  async step(a: Float64Array): Promise<void> {
    const { m, k } = this, i = this.steps, rows = (i + 1) * k;
    const qi = this.basis.subarray(i * k * m, rows * m);
    for (let c = 0; c < k; c++) for (let j = 0; j < m; j++) this.packed[j * k + c] = qi[c * m + j];
    const w = this.product;
    await gemm(false, m, k, m, a, this.packed, w); // A Q_i (m x k): one pass over A
    const before = new Array<number>(k).fill(0);
    for (let j = 0; j < m; j++) for (let c = 0; c < k; c++) before[c] += w[j * k + c] * w[j * k + c];
    const basis = this.basis.subarray(0, rows * m);
    const h = new Float64Array(rows * k), total = new Float64Array(rows * k);
    for (let pass = 0; pass < 2; pass++) {
      await gemm(false, rows, k, m, basis, w, h); // H = Q^T W
      await gemm(true, m, k, rows, basis, h, w, -1, 1); // W -= Q H
      for (let x = 0; x < h.length; x++) total[x] += h[x];
    }
    const ai = new Float64Array(k * k);
    for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) ai[r * k + c] = (total[(i * k + r) * k + c] + total[(i * k + c) * k + r]) / 2;
    this.diag.push(ai);
    if ((i + 2) * k > m) {
      this.done = true; // no room for another full block: the space is (nearly) all of R^m
      return;
    }
    if ((i + 2) * k * m > this.basis.length) {
      const grown = new Float64Array(Math.min(2 * this.basis.length, (Math.floor(m / k) + 1) * k * m));
      grown.set(this.basis);
      this.basis = grown;
    }
    const next = this.basis.subarray(rows * m, (rows + k) * m);
    for (let c = 0; c < k; c++) for (let j = 0; j < m; j++) next[c * m + j] = w[j * k + c];
    const bi = this.orthonormalize(i + 1, before.map(Math.sqrt));
    this.sub.push(bi);
    if (bi.every((x) => x === 0)) this.done = true;
  }

  /**
   * Orthonormalises block `block`'s rows among themselves (Gram-Schmidt
   * twice): returns R (k x k, upper triangular) with the block = Q R; a row
   * whose remainder falls below 1e-12 of `scale[c]` is deflated (set to zero,
   * R[c][c] = 0).
   */
  private orthonormalize(block: number, scale: number[]): Float64Array {
    const { m, k } = this, r = new Float64Array(k * k);
    const row = (c: number) => this.basis.subarray((block * k + c) * m, (block * k + c + 1) * m);
    for (let c = 0; c < k; c++) {
      const v = row(c);
      for (let pass = 0; pass < 2; pass++) {
        for (let p = 0; p < c; p++) {
          const u = row(p);
          let d = 0;
          for (let j = 0; j < m; j++) d += u[j] * v[j];
          for (let j = 0; j < m; j++) v[j] -= d * u[j];
          r[p * k + c] += d;
        }
      }
      const nv = norm(v);
      if (!(nv > 1e-12 * scale[c])) {
        v.fill(0);
        continue;
      }
      for (let j = 0; j < m; j++) v[j] /= nv;
      r[c * k + c] = nv;
    }
    return r;
  }

  /** T (sk x sk) in lower band storage: band[r (p+1) + d] = T[r][r - d], half-bandwidth p = 2k - 1. */
  band(): { n: number; p: number; band: Float64Array } {
    const { k } = this, s = this.steps, n = s * k, p = 2 * k - 1, band = new Float64Array(n * (p + 1));
    for (let i = 0; i < s; i++) {
      const ai = this.diag[i];
      for (let r = 0; r < k; r++) for (let c = 0; c <= r; c++) band[(i * k + r) * (p + 1) + (r - c)] = ai[r * k + c];
      if (i + 1 < s) {
        const bi = this.sub[i];
        for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) band[((i + 1) * k + r) * (p + 1) + (k + r - c)] = bi[r * k + c];
      }
    }
    return { n, p, band };
  }
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return Math.sqrt(s);
}

/**
 * Y = (T + lambda I)^-1 R (n x k) by banded Cholesky (T + lambda I is
 * positive definite: T = Q^T A Q with A positive semi-definite, lambda > 0).
 * O(n p^2 + n p k).
 */
function bandedSolve(t: { n: number; p: number; band: Float64Array }, lambda: number, rhs: Float64Array, k: number): Float64Array {
  const { n, p } = t, w = p + 1, l = Float64Array.from(t.band);
  for (let r = 0; r < n; r++) l[r * w] += lambda;
  for (let j = 0; j < n; j++) {
    let d = l[j * w];
    for (let q = Math.max(0, j - p); q < j; q++) d -= l[j * w + (j - q)] ** 2;
    const djj = Math.sqrt(Math.max(d, Number.MIN_VALUE));
    l[j * w] = djj;
    for (let i = j + 1; i <= Math.min(n - 1, j + p); i++) {
      let x = l[i * w + (i - j)];
      for (let q = Math.max(0, i - p); q < j; q++) x -= l[i * w + (i - q)] * l[j * w + (j - q)];
      l[i * w + (i - j)] = x / djj;
    }
  }
  const y = Float64Array.from(rhs);
  for (let i = 0; i < n; i++) {
    for (let q = Math.max(0, i - p); q < i; q++) {
      const f = l[i * w + (i - q)];
      for (let c = 0; c < k; c++) y[i * k + c] -= f * y[q * k + c];
    }
    for (let c = 0; c < k; c++) y[i * k + c] /= l[i * w];
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let c = 0; c < k; c++) y[i * k + c] /= l[i * w];
    for (let q = Math.max(0, i - p); q < i; q++) {
      const f = l[i * w + (i - q)];
      for (let c = 0; c < k; c++) y[q * k + c] -= f * y[i * k + c];
    }
  }
  return y;
}

/** Largest eigenvalue of the banded T (a lower bound on A's largest), by 200 steps of the power method from the ones vector. */
function largestEigenvalue(t: { n: number; p: number; band: Float64Array }): number {
  const { n, p, band } = t, w = p + 1;
  if (n === 0) return 0;
  let x = new Float64Array(n).fill(1 / Math.sqrt(n)), y = new Float64Array(n), rayleigh = 0;
  for (let it = 0; it < 200; it++) {
    y.fill(0);
    for (let r = 0; r < n; r++) {
      y[r] += band[r * w] * x[r];
      for (let d = 1; d <= Math.min(p, r); d++) {
        const v = band[r * w + d];
        y[r] += v * x[r - d];
        y[r - d] += v * x[r];
      }
    }
    let dot = 0;
    for (let r = 0; r < n; r++) dot += x[r] * y[r];
    rayleigh = dot;
    const ny = norm(y);
    if (!(ny > 0)) return 0;
    for (let r = 0; r < n; r++) y[r] /= ny;
    [x, y] = [y, x];
  }
  return rayleigh;
}

async function krylovPath(p: PathProblem, lambdas: readonly number[], signal?: AbortSignal): Promise<PathReport> {
  const { m } = p;
  const errors = new KrylovErrors(p);
  const lanczos = new BlockLanczos(m, p.k, p.b);
  const maxSteps = Math.min(Math.ceil(m / p.k), KRYLOV_MAX_STEPS);
  let previous: number[] | null = null, older: number[] | null = null;
  let nextCheck = 8, converged = false, unsettled = lambdas.length;
  for (;;) {
    while (!lanczos.done && lanczos.steps < Math.min(nextCheck, maxSteps)) {
      checkAborted(signal);
      await lanczos.step(p.a);
    }
    const finished = lanczos.done || lanczos.steps >= maxSteps;
    const current = await errors.of(lambdas, lanczos);
    if (lanczos.done) {
      converged = true;
      unsettled = 0;
      previous = current;
      break;
    }
    if (previous) {
      const verdict = judge(previous, current, older);
      unsettled = verdict.unsettled;
      older = previous;
      previous = current;
      if (verdict.done) {
        converged = true;
        break;
      }
    } else {
      previous = current;
    }
    if (finished) break;
    nextCheck = lanczos.steps + Math.max(8, Math.round(lanczos.steps / 2));
  }
  return { errors: previous, solver: 'krylov', iterations: lanczos.steps, converged, unsettled };
}

/**
 * Whether the path can stop: the least error has settled (moved by at most
 * KRYLOV_TOLERANCE, relative, since the last evaluation), and so has every
 * other lambda's, except those that cannot be the choice: errors that stay
 * above the least (by 0.1 %) even if they went on moving at ten times their
 * last rate, or that rose at each of the last two evaluations and are already
 * above it. The second rule is what the iterates do for small lambdas: a
 * Krylov (conjugate-gradient) iterate is a regularised solution, and as the
 * space grows it loses that regularisation and its validation error climbs
 * toward the (larger) error of the exact solution.
 */
function judge(before: number[], after: number[], older: number[] | null): { done: boolean; unsettled: number } {
  const moved = after.map((e, l) => (e === Infinity || before[l] === Infinity ? (e === before[l] ? 0 : Infinity) : Math.abs(e - before[l])));
  const settled = after.map((e, l) => moved[l] <= KRYLOV_TOLERANCE * Math.max(e, Number.MIN_VALUE));
  let best = -1;
  for (let l = 0; l < after.length; l++) if (after[l] !== Infinity && (best < 0 || after[l] < after[best])) best = l;
  const unsettled = settled.filter((x) => !x).length;
  if (best < 0) return { done: settled.every(Boolean), unsettled };
  if (!settled[best]) return { done: false, unsettled };
  const above = after[best] * (1 + 1e-3);
  const rising = (l: number) => older !== null && after[l] > before[l] && before[l] > older[l];
  const done = after.every((e, l) => settled[l] || e - 10 * moved[l] > above || (rising(l) && e > above));
  return { done, unsettled };
}

/**
 * Validation errors of the block Krylov solutions W(lambda) = Q Y(lambda)
 * without forming W: the error's terms in the basis,
 *
 *     tr(W^T A_v W) = tr(Y^T G Y),  G = Q^T A_v Q (grown by the new basis rows at each evaluation),
 *     tr(W^T Phi_v^T Y_v) = tr(Y^T Q Phi_v^T Y_v),  mu^T W = (Q mu)^T Y,  s_v^T W = (Q s_v)^T Y,
 *
 * so an evaluation costs one m x m x (new basis vectors) product (the
 * vectors added since the last one) instead of one m x m x (lambdas x k).
 */
class KrylovErrors {
  /** Q^T A_v Q for the first `covered` basis rows (covered x covered, row-major, grown as needed). */
  private g = new Float64Array(0);
  private covered = 0;
  /** [Phi_v^T Y_v | mu | s_v] (m x (k + 2)), and Q times it (covered x (k + 2)). */
  private readonly extra: Float64Array;
  private qExtra = new Float64Array(0);

  constructor(private readonly p: PathProblem) {
    const { m, k } = p, v = p.validation, e = k + 2;
    this.extra = new Float64Array(m * e);
    for (let j = 0; j < m; j++) {
      for (let t = 0; t < k; t++) this.extra[j * e + t] = v.cross[j * k + t];
      this.extra[j * e + k] = p.mu[j];
      this.extra[j * e + k + 1] = v.sums[j];
    }
  }

  /** Extends G and Q [B_v | mu | s_v] to the basis rows `q` (rows x m). */
  private async cover(q: Float64Array, rows: number): Promise<void> {
    const { m, k } = this.p, e = k + 2, old = this.covered, added = rows - old;
    if (added <= 0) return;
    const fresh = q.subarray(old * m, rows * m);
    // A_v Q_new^T (m x added), then Q (rows x m) times it: the new columns of G.
    const avq = new Float64Array(m * added), cols = new Float64Array(rows * added);
    await native().gemm({ transA: false, transB: true, m, n: added, k: m, alpha: 1, a: this.p.validation.gram, lda: m, b: fresh, ldb: m, beta: 0, c: avq, ldc: added }, true);
    await gemm(false, rows, added, m, q.subarray(0, rows * m), avq, cols);
    const g = new Float64Array(rows * rows);
    for (let r = 0; r < old; r++) g.set(this.g.subarray(r * old, (r + 1) * old), r * rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < added; c++) {
        g[r * rows + old + c] = cols[r * added + c];
        if (r < old) g[(old + c) * rows + r] = cols[r * added + c];
      }
    }
    this.g = g;
    const qe = new Float64Array(rows * e);
    qe.set(this.qExtra);
    await gemm(false, added, e, m, fresh, this.extra, qe.subarray(old * e));
    this.qExtra = qe;
    this.covered = rows;
  }

  async of(lambdas: readonly number[], lanczos: BlockLanczos): Promise<number[]> {
    const { m, k } = this.p, e = k + 2;
    const t = lanczos.band(), n = t.n;
    await this.cover(lanczos.rows(), n);
    const emax = largestEigenvalue(t);
    const rhs = new Float64Array(n * k);
    rhs.set(lanczos.r0);
    const out: number[] = [];
    const gy = new Float64Array(n * k);
    const quad = new Float64Array(k), cross = new Float64Array(k), muW = new Float64Array(k), sW = new Float64Array(k);
    for (const lambda of lambdas) {
      if (!acceptable(0, emax, lambda, m)) {
        out.push(Infinity);
        continue;
      }
      const y = n > 0 ? bandedSolve(t, lambda, rhs, k) : new Float64Array(0);
      if (n > 0) await gemm(false, n, k, n, this.g, y, gy);
      for (let c = 0; c < k; c++) {
        quad[c] = cross[c] = muW[c] = sW[c] = 0;
        for (let r = 0; r < n; r++) {
          const x = y[r * k + c];
          quad[c] += x * gy[r * k + c];
          cross[c] += x * this.qExtra[r * e + c];
          muW[c] += x * this.qExtra[r * e + k];
          sW[c] += x * this.qExtra[r * e + k + 1];
        }
      }
      out.push(validationMse(this.p, quad, cross, muW, sW, 0));
    }
    return out;
  }
}
