import { rng } from '../reference/dense-solve.js';

/**
 * n rows whose cosines spread over (-1, 1) and whose norms vary (0.5..3):
 * a random direction shared with a random weight, plus isotropic noise.
 */
export function spreadRows(n: number, d: number, seed: number): Float64Array {
  const r = rng(seed);
  const u = Array.from({ length: d }, () => r.normal());
  const nu = Math.sqrt(u.reduce((s, v) => s + v * v, 0));
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const t = 2.5 * r.normal();
    let ss = 0;
    for (let k = 0; k < d; k++) {
      X[i * d + k] = (t * u[k]) / nu + r.normal() / Math.sqrt(d);
      ss += X[i * d + k] ** 2;
    }
    const scale = (0.5 + 2.5 * r.uniform()) / Math.sqrt(ss);
    for (let k = 0; k < d; k++) X[i * d + k] *= scale;
  }
  return X;
}

/**
 * A random sparse rows x dim matrix (entries kept with probability density,
 * N(0, 1) values; row 4 left empty), dense and as CSR { indptr, indices, data, shape }.
 */
export function sparseRows(rows: number, dim: number, density: number, seed: number) {
  const r = rng(seed);
  const dense = new Float64Array(rows * dim);
  const indptr = [0], indices: number[] = [], data: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < dim; k++) {
      if (i !== 4 && r.uniform() < density) {
        dense[i * dim + k] = r.normal();
        indices.push(k);
        data.push(dense[i * dim + k]);
      }
    }
    indptr.push(indices.length);
  }
  return { dense, csr: { indptr: Int32Array.from(indptr), indices: Int32Array.from(indices), data, shape: [rows, dim] } };
}
