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
 * The errors of a whole chunk of lambdas cost one m x m x (lambdas * k) GEMM.
 * Three ways to get W(lambda), same errors up to rounding (eigen, cholesky) or
 * to a stated tolerance (krylov):
 *
 * - 'eigen': one eigendecomposition A = V E V^T, then W = V (E + lambda)^-1 V^T B.
 *   About 14-17 Cholesky factorisations of time at m = 4,096 on a 2-core machine.
 * - 'cholesky': one Cholesky solve per lambda.
 * - 'krylov': W(lambda) for every lambda from one Krylov space per output
 *   column: Krylov spaces are shift-invariant, so K_s(A + lambda I, b) =
 *   K_s(A, b) and s steps of Lanczos (full reorthogonalisation) on A give the
 *   Galerkin (conjugate-gradient) solution of every shifted system at once:
 *   w(lambda) = Q_s (T_s + lambda I)^-1 e_1 ||b||. A step costs one pass over
 *   A (an m x m x k product, memory-bound) plus the reorthogonalisation
 *   (4 s m flops per column); the errors are evaluated at growing intervals
 *   and the iteration stops when no lambda's error moved by more than
 *   KRYLOV_TOLERANCE (relative) since the last evaluation. The lambda finally
 *   used is then solved exactly by the caller, so the tolerance bounds only
 *   the path's errors, not the model.
 */
import { checkMemory } from '../core/arrays.js';
import { native } from '../core/native.js';
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
  /** Krylov: Lanczos steps taken (the largest over the output columns); 0 otherwise. */
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
/** Most Lanczos steps (also bounded by m). */
export const KRYLOV_MAX_STEPS = 800;
/** Bytes of weights evaluated at once (lambdas are taken in chunks below this). */
const CHUNK_BYTES = 2 ** 27;

type Gemm = (transA: boolean, rows: number, cols: number, inner: number, x: Float64Array, y: Float64Array, c: Float64Array, alpha?: number, beta?: number) => Promise<void>;

const gemm: Gemm = async (transA, rows, cols, inner, x, y, c, alpha = 1, beta = 0) => {
  await native().gemm({ transA, transB: false, m: rows, n: cols, k: inner, alpha, a: x, lda: transA ? rows : inner, b: y, ldb: cols, beta, c, ldc: cols }, true);
};

/** Bytes the path needs beyond the problem's own arrays (the caller checks them against its memory limit). */
export function pathBytes(m: number, k: number, lambdas: number, solver: PathSolver, steps = Math.min(m, 256)): number {
  const chunk = Math.min(lambdas, chunkSize(m, k));
  const weights = 2 * 8 * m * k * chunk;
  if (solver === 'eigen') return 8 * m * m + weights;
  if (solver === 'krylov') return 8 * m * k * (steps + 1) + weights;
  return weights;
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
export async function validationPath(p: PathProblem, lambdas: readonly number[], solver: PathSolver, memoryLimit: number): Promise<PathReport> {
  checkMemory(`FeatureRidge: the ${solver} lambda path`, pathBytes(p.m, p.k, lambdas.length, solver), memoryLimit);
  const errors = new PathErrors(p);
  if (solver === 'eigen') return { errors: await eigenPath(p, lambdas, errors), solver, iterations: 0, converged: true, unsettled: 0 };
  if (solver === 'cholesky') return { errors: await choleskyPath(p, lambdas, errors), solver, iterations: 0, converged: true, unsettled: 0 };
  return krylovPath(p, lambdas, errors);
}

/** Validation errors of chunks of weight matrices, one product with A_v per chunk. */
class PathErrors {
  private readonly av: Float64Array;

  constructor(private readonly p: PathProblem) {
    this.av = p.validation.gram;
  }

  /**
   * Errors of `count` weight matrices stored side by side in w (m x count*k:
   * lambda l's output t in column l*k + t).
   */
  async of(w: Float64Array, count: number): Promise<number[]> {
    const { m, k, mu, ybar } = this.p;
    const v = this.p.validation;
    const cols = count * k;
    const avw = new Float64Array(m * cols);
    await gemm(false, m, cols, m, this.av, w, avw);
    const totals = new Float64Array(count).fill(v.yy);
    // Intercept terms per (lambda, output).
    const s = Float64Array.from({ length: cols }, (_, c) => ybar[c % k]);
    const ws = new Float64Array(cols);
    for (let j = 0; j < m; j++) {
      const row = j * cols, mj = mu[j], sj = v.sums[j], bj = j * k;
      for (let c = 0; c < cols; c++) {
        const x = w[row + c];
        s[c] -= x * mj;
        ws[c] += x * sj;
        totals[(c / k) | 0] += x * (avw[row + c] - 2 * v.cross[bj + (c % k)]);
      }
    }
    for (let c = 0; c < cols; c++) {
      const t = c % k;
      totals[(c / k) | 0] += 2 * s[c] * ws[c] - 2 * s[c] * v.ysum[t] + v.rows * s[c] * s[c];
    }
    return Array.from(totals, (total) => Math.max(0, total) / (v.rows * k));
  }
}

/** Runs `fill(chunk, w)` for chunks of lambdas; fill writes the chunk's weights (or returns false per lambda to refuse it). */
async function chunked(
  p: PathProblem,
  lambdas: readonly number[],
  errors: PathErrors,
  fill: (chunk: readonly number[], w: Float64Array) => Promise<boolean[]>,
): Promise<number[]> {
  const out: number[] = [];
  const size = chunkSize(p.m, p.k);
  for (let start = 0; start < lambdas.length; start += size) {
    const chunk = lambdas.slice(start, start + size);
    const w = new Float64Array(p.m * chunk.length * p.k);
    const accepted = await fill(chunk, w);
    const e = await errors.of(w, chunk.length);
    for (let l = 0; l < chunk.length; l++) out.push(accepted[l] ? e[l] : Infinity);
  }
  return out;
}

async function eigenPath(p: PathProblem, lambdas: readonly number[], errors: PathErrors): Promise<number[]> {
  const { m, k } = p;
  const evals = new Float64Array(m), vt = new Float64Array(m * m), status = new Float64Array(1);
  await native().symmetricEigh({ matrix: p.a, m, eigenvalues: evals, eigenvectors: vt, status }, true);
  if (status[0] !== 0) throw new RangeError(`FeatureRidge: the eigendecomposition failed to converge (info ${status[0]})`);
  const c = new Float64Array(m * k);
  await gemm(false, m, k, m, vt, p.b, c); // C = V^T B
  const emin = Math.max(evals[0], 0), emax = Math.max(evals[m - 1], 0);
  return chunked(p, lambdas, errors, async (chunk, w) => {
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

async function choleskyPath(p: PathProblem, lambdas: readonly number[], errors: PathErrors): Promise<number[]> {
  const { m, k } = p;
  const one = new Float64Array(m * k), status = new Float64Array(2);
  return chunked(p, lambdas, errors, async (chunk, w) => {
    const ok: boolean[] = [];
    const cols = chunk.length * k;
    for (let l = 0; l < chunk.length; l++) {
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

/** One Lanczos process (full reorthogonalisation) on A started at one column of B. */
class Lanczos {
  /** Orthonormal basis, one vector per row (steps + 1 rows once a step is taken). */
  basis: Float64Array;
  readonly alpha: number[] = [];
  readonly beta: number[] = [];
  /** Whether the Krylov space stopped growing (it is invariant: the solutions are exact). */
  done: boolean;
  private h: Float64Array;

  constructor(private readonly m: number, readonly norm: number, start: Float64Array, capacity: number) {
    this.basis = new Float64Array(capacity * m);
    this.h = new Float64Array(capacity);
    this.done = !(norm > 0);
    if (!this.done) for (let j = 0; j < m; j++) this.basis[j] = start[j] / norm;
  }

  get steps(): number {
    return this.alpha.length;
  }

  /** The current (last) basis vector. */
  current(): Float64Array {
    return this.basis.subarray(this.steps * this.m, (this.steps + 1) * this.m);
  }

  /** Takes a step given w = A q (overwritten). */
  async step(w: Float64Array, scale: number): Promise<void> {
    const m = this.m, s = this.steps, q = this.current();
    let a = 0;
    for (let j = 0; j < m; j++) a += q[j] * w[j];
    // Classical Gram-Schmidt twice against every basis vector: subsumes the
    // three-term recurrence and keeps the basis orthogonal to rounding.
    if (this.h.length < s + 1) this.h = new Float64Array(Math.min(2 * (s + 1), m + 1));
    const rows = this.basis.subarray(0, (s + 1) * m), h = this.h.subarray(0, s + 1);
    for (let pass = 0; pass < 2; pass++) {
      await gemm(false, s + 1, 1, m, rows, w, h);
      await gemm(true, m, 1, s + 1, rows, h, w, -1, 1);
    }
    let b = 0;
    for (let j = 0; j < m; j++) b += w[j] * w[j];
    b = Math.sqrt(b);
    this.alpha.push(a);
    this.beta.push(b);
    if (s + 1 >= m || !(b > 1e-12 * scale)) {
      this.done = true;
      return;
    }
    if ((s + 2) * m > this.basis.length) {
      const grown = new Float64Array(Math.min(2 * this.basis.length, m * (m + 1)));
      grown.set(this.basis);
      this.basis = grown;
    }
    const next = this.basis.subarray((s + 1) * m, (s + 2) * m);
    for (let j = 0; j < m; j++) next[j] = w[j] / b;
  }

  /** y = (T_s + lambda I)^-1 e_1 ||b|| (T_s tridiagonal, symmetric positive definite for lambda > 0). */
  solve(lambda: number, y: Float64Array): void {
    const s = this.steps, c = new Float64Array(s);
    // Thomas algorithm: no pivoting is needed for a positive definite T.
    let d = this.alpha[0] + lambda;
    y[0] = this.norm / d;
    for (let i = 1; i < s; i++) {
      c[i - 1] = this.beta[i - 1] / d;
      d = this.alpha[i] + lambda - this.beta[i - 1] * c[i - 1];
      y[i] = (0 - this.beta[i - 1] * y[i - 1]) / d;
    }
    for (let i = s - 2; i >= 0; i--) y[i] -= c[i] * y[i + 1];
  }

  /** Largest eigenvalue of T_s (a Ritz value: a lower bound on A's largest), by Sturm-sequence bisection. */
  largestRitz(): number {
    const s = this.steps;
    if (s === 0) return 0;
    let hi = 0;
    for (let i = 0; i < s; i++) hi = Math.max(hi, this.alpha[i] + (i > 0 ? this.beta[i - 1] : 0) + (i < s - 1 ? this.beta[i] : 0));
    let lo = 0;
    for (let it = 0; it < 100 && hi - lo > 1e-12 * hi; it++) {
      const mid = (lo + hi) / 2;
      // Count of eigenvalues above mid: sign changes of the LDL^T pivots of T - mid.
      let above = 0, piv = 1;
      for (let i = 0; i < s; i++) {
        piv = this.alpha[i] - mid - (i > 0 ? (this.beta[i - 1] * this.beta[i - 1]) / piv : 0);
        if (piv === 0) piv = -1e-300;
        if (piv > 0) above++;
      }
      if (above > 0) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}

async function krylovPath(p: PathProblem, lambdas: readonly number[], errors: PathErrors): Promise<PathReport> {
  const { m, k } = p;
  const maxSteps = Math.min(m, KRYLOV_MAX_STEPS);
  let trace = 0;
  for (let j = 0; j < m; j++) trace += p.a[j * m + j];
  const processes: Lanczos[] = [];
  const column = new Float64Array(m);
  for (let t = 0; t < k; t++) {
    let norm = 0;
    for (let j = 0; j < m; j++) {
      column[j] = p.b[j * k + t];
      norm += column[j] * column[j];
    }
    processes.push(new Lanczos(m, Math.sqrt(norm), column, Math.min(m + 1, 64)));
  }
  const q = new Float64Array(m * k), aq = new Float64Array(m * k), w = new Float64Array(m);
  let previous: number[] | null = null;
  let steps = 0, nextCheck = 16, converged = false, unsettled = lambdas.length;
  for (;;) {
    const active = processes.filter((proc) => !proc.done);
    if (active.length > 0 && steps < maxSteps) {
      for (let t = 0; t < k; t++) {
        const proc = processes[t], cur = proc.done ? null : proc.current();
        for (let j = 0; j < m; j++) q[j * k + t] = cur ? cur[j] : 0;
      }
      await gemm(false, m, k, m, p.a, q, aq); // one pass over A for every column
      for (let t = 0; t < k; t++) {
        const proc = processes[t];
        if (proc.done) continue;
        for (let j = 0; j < m; j++) w[j] = aq[j * k + t];
        await proc.step(w, trace);
      }
      steps++;
      if (steps < nextCheck && processes.some((proc) => !proc.done) && steps < maxSteps) continue;
    }
    const finished = processes.every((proc) => proc.done) || steps >= maxSteps;
    const current = await krylovErrors(p, lambdas, errors, processes);
    if (processes.every((proc) => proc.done)) {
      converged = true;
      unsettled = 0;
      previous = current;
      break;
    }
    if (previous) {
      const verdict = judge(previous, current);
      unsettled = verdict.unsettled;
      previous = current;
      if (verdict.done) {
        converged = true;
        break;
      }
    } else {
      unsettled = lambdas.length;
      previous = current;
    }
    if (finished) break;
    nextCheck = steps + Math.max(16, Math.round(steps / 4));
  }
  return { errors: previous as number[], solver: 'krylov', iterations: Math.max(...processes.map((proc) => proc.steps)), converged, unsettled };
}

/**
 * Whether the path can stop: the least error has settled (moved by at most
 * KRYLOV_TOLERANCE, relative, since the last evaluation), and so has every
 * other lambda's, except those that stay clearly worse even if they went on
 * moving at ten times their last rate (slowly converging small lambdas of a
 * well-conditioned-enough problem: they cannot be the choice).
 */
function judge(before: number[], after: number[]): { done: boolean; unsettled: number } {
  const moved = after.map((e, l) => (e === Infinity || before[l] === Infinity ? (e === before[l] ? 0 : Infinity) : Math.abs(e - before[l])));
  const settled = after.map((e, l) => moved[l] <= KRYLOV_TOLERANCE * Math.max(e, Number.MIN_VALUE));
  let best = -1;
  for (let l = 0; l < after.length; l++) if (after[l] !== Infinity && (best < 0 || after[l] < after[best])) best = l;
  if (best < 0) return { done: settled.every(Boolean), unsettled: settled.filter((x) => !x).length };
  const unsettled = settled.filter((x) => !x).length;
  if (!settled[best]) return { done: false, unsettled };
  const done = after.every((e, l) => settled[l] || e - 10 * moved[l] > after[best] * (1 + 1e-3));
  return { done, unsettled };
}

/** Validation errors of the Krylov solutions of every lambda. */
async function krylovErrors(p: PathProblem, lambdas: readonly number[], errors: PathErrors, processes: Lanczos[]): Promise<number[]> {
  const { m, k } = p;
  const emax = Math.max(...processes.map((proc) => proc.largestRitz()));
  return chunked(p, lambdas, errors, async (chunk, w) => {
    const cols = chunk.length * k;
    for (let t = 0; t < k; t++) {
      const proc = processes[t], s = proc.steps;
      if (s === 0) continue; // a zero target column: zero weights
      const ys = new Float64Array(s * chunk.length), y = new Float64Array(s);
      for (let l = 0; l < chunk.length; l++) {
        proc.solve(chunk[l], y);
        for (let i = 0; i < s; i++) ys[i * chunk.length + l] = y[i];
      }
      const wt = new Float64Array(m * chunk.length);
      await gemm(true, m, chunk.length, s, proc.basis.subarray(0, s * m), ys, wt); // Q_s^T Y
      for (let j = 0; j < m; j++) for (let l = 0; l < chunk.length; l++) w[j * cols + l * k + t] = wt[j * chunk.length + l];
    }
    return chunk.map((lambda) => acceptable(0, emax, lambda, m));
  });
}
