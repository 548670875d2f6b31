/**
 * The summaries a benchmark report gives of repeated measurements: the
 * spread of a sample (min / median / max) and a least-squares line through
 * (x, y) points with its residual, used to show that a cost is linear in n.
 */

/** Minimum, median and maximum of a sample. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** The spread of `values` (at least one). */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread: values must not be empty');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { min: s[0], median: mid, max: s[s.length - 1] };
}

/**
 * Rounds whose slowest takes more than this many times the fastest disagree:
 * the machine's load changed during the run, and a rerun's median may well
 * fall outside the spread. Reports flag such figures.
 */
export const NOISY_SPREAD = 2;

/** Whether the rounds of a time disagree (max / min above NOISY_SPREAD). */
export function isNoisy(s: Spread): boolean {
  return s.max > NOISY_SPREAD * s.min;
}

/** A spread with every figure divided by `by` (an absolute figure from a time, e.g. rows per second = rows / seconds). */
export function invertSpread(numerator: number, s: Spread): Spread {
  return { min: numerator / s.max, median: numerator / s.median, max: numerator / s.min };
}

/** y = slope x + intercept fitted by least squares, and the residual relative to the data. */
export interface LinearFit {
  slope: number;
  intercept: number;
  /** Root mean square of the residuals divided by the root mean square of y: 0 for points on a line. */
  relativeResidual: number;
  /** Coefficient of determination. */
  r2: number;
}

/** Least-squares line through the points (at least two distinct x). */
export function linearFit(x: readonly number[], y: readonly number[]): LinearFit {
  if (x.length !== y.length || x.length < 2) throw new RangeError('linearFit: x and y must have the same length, at least 2');
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n, my = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) ** 2;
  }
  if (sxx === 0) throw new RangeError('linearFit: x must take at least two distinct values');
  const slope = sxy / sxx, intercept = my - slope * mx;
  let res = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    res += (y[i] - slope * x[i] - intercept) ** 2;
    sq += y[i] ** 2;
  }
  return { slope, intercept, relativeResidual: Math.sqrt(res / (sq || 1)), r2: syy === 0 ? 1 : 1 - res / syy };
}
