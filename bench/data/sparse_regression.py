#!/usr/bin/env python3
"""A seeded sparse regression set in LIBSVM format, where inner products carry
the signal as in real sparse data.

Each row is the sparse code of a latent point p ~ N(0, I_8): of D random affine
units a_j(p) = w_j . p + b_j (w_j ~ N(0, I_8), b_j ~ N(0, 1)), the NNZ largest,
with their values, at their (1-based) unit indices. Two rows share units, and
so have a large inner product, when their latent points are close. The target
is a smooth nonlinear function of p plus Gaussian noise:

    y = sin(2 p_1) + p_2 p_3 + 0.5 cos(3 p_4) + 0.3 p_5^2 + 0.1 N(0, 1)

Usage: sparse_regression.py OUT_DIR [--train N] [--test N] [--dim D] [--nnz K] [--seed S]
writes OUT_DIR/train.svm and OUT_DIR/test.svm (the same units; rows drawn
independently). Deterministic for a seed.
"""
import argparse
import os
import sys

import numpy as np


def target(p, rng):
    return (np.sin(2 * p[:, 0]) + p[:, 1] * p[:, 2] + 0.5 * np.cos(3 * p[:, 3]) + 0.3 * p[:, 4] ** 2
            + 0.1 * rng.standard_normal(len(p)))


def top_units(a, p, nnz):
    """Indices (sorted) and values of the nnz largest entries of each row of a.

    Across units, a_j(p) is Gaussian with variance |p|^2 + 1, so the nnz
    largest of D lie above about 3 standard deviations when nnz / D = 5e-4:
    only those candidates are ranked (a row with too few falls back to all)."""
    sd = np.sqrt((p.astype(np.float64) ** 2).sum(axis=1) + 1)
    cand_rows, cand_cols = np.nonzero(a > (2.9 * sd).astype(np.float32)[:, None])
    starts = np.searchsorted(cand_rows, np.arange(a.shape[0] + 1))
    top = np.empty((a.shape[0], nnz), dtype=np.int64)
    for i in range(a.shape[0]):
        cols = cand_cols[starts[i]:starts[i + 1]]
        if len(cols) < nnz:
            cols = np.arange(a.shape[1])
        keep = cols[np.argpartition(a[i, cols], -nnz)[-nnz:]]
        top[i] = np.sort(keep)
    return top, np.take_along_axis(a, top, axis=1)


def write(path, rows, w, b, nnz, rng, chunk=256):
    tmp = path + '.tmp'
    a = np.empty((chunk, w.shape[1]), dtype=np.float32)
    with open(tmp, 'w') as f:
        for start in range(0, rows, chunk):
            count = min(chunk, rows - start)
            p = rng.standard_normal((count, w.shape[0])).astype(np.float32)
            act = a[:count]
            np.matmul(p, w, out=act)
            act += b
            top, values = top_units(act, p, nnz)
            y = target(p.astype(np.float64), rng)
            lines = []
            for i in range(count):
                pairs = ' '.join(f'{j + 1}:{v:.5g}' for j, v in zip(top[i].tolist(), values[i].tolist()))
                lines.append(f'{y[i]:.6g} {pairs}\n')
            f.write(''.join(lines))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out')
    ap.add_argument('--train', type=int, default=1_000_000)
    ap.add_argument('--test', type=int, default=100_000)
    ap.add_argument('--dim', type=int, default=100_000)
    ap.add_argument('--nnz', type=int, default=50)
    ap.add_argument('--latent', type=int, default=8)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    w = rng.standard_normal((args.latent, args.dim)).astype(np.float32)
    b = rng.standard_normal(args.dim).astype(np.float32)
    os.makedirs(args.out, exist_ok=True)
    write(os.path.join(args.out, 'train.svm'), args.train, w, b, args.nnz, np.random.default_rng(args.seed + 1))
    write(os.path.join(args.out, 'test.svm'), args.test, w, b, args.nnz, np.random.default_rng(args.seed + 2))
    print(f'wrote {args.train} + {args.test} rows, dim {args.dim}, {args.nnz} non-zeros per row, to {args.out}', file=sys.stderr)


if __name__ == '__main__':
    main()
