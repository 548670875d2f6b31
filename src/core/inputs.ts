/**
 * The input types of the public API. Every matrix argument is one of these;
 * the values are still checked at run time (plain JavaScript callers), with a
 * TypeError or RangeError that names the argument.
 */
import type { CsrMatrixLike, MatrixLike } from './arrays.js';

export type { CsrMatrixLike, MatrixLike } from './arrays.js';

/**
 * A batch of images, n x C x H x W, row-major: an ndarray or
 * `{ data, shape: [n, C, H, W] }` (stride and offset as for MatrixLike).
 */
export type ImagesLike = MatrixLike;

/** Rows of a feature map: dense (n x inputDim) or CSR. */
export type RowsLike = MatrixLike | CsrMatrixLike;

/** Targets: an n x k matrix, or a length-n vector (one output). */
export type TargetsLike = MatrixLike | ArrayLike<number>;
