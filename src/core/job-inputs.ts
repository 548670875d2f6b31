/**
 * Arrays that async native jobs read and write, safe from the caller
 * detaching them.
 *
 * An async job runs on the thread pool while JavaScript goes on. If the
 * caller transfers an array's ArrayBuffer meanwhile (postMessage or
 * structuredClone with `transfer`), the array is detached and the memory
 * belongs to the new owner, which may free it under the job: the job then
 * reads garbage (wrong results) or writes to unmapped memory (a crash).
 * Node-API has no way to keep a transferred buffer's memory alive, so:
 *
 * - an async job reads a private copy of the caller's input, taken when the
 *   call is made: the result is that of the values at the call, whatever
 *   happens to the caller's buffer afterwards (one memcpy of the input,
 *   small next to the work on it);
 * - an async job never writes into the caller's memory directly: it writes
 *   a private block (at most 32 MiB for transforms) that is copied into the
 *   caller's array once computed, and a detached destination is a TypeError
 *   (there is nothing left to write to).
 *   Arrays the library allocated for itself (markPrivate) are written
 *   directly.
 */

/** A private copy of `a` for an async job to read (a fresh array of the same type). */
export function jobCopy<T extends ArrayBufferView & { slice(): T }>(a: T): T {
  return a.slice();
}

/**
 * `rows` (an object such as { data, shape } or { indptr, indices, data,
 * shape }) with every typed array field replaced by a private copy.
 */
export function copyViews<R extends object>(rows: R): R {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rows)) {
    out[key] = ArrayBuffer.isView(value) && 'slice' in value ? (value as unknown as { slice(): unknown }).slice() : value;
  }
  return out as R;
}

const privateBuffers = new WeakSet<ArrayBufferLike>();

/** Marks `a`, an array the library allocated and never hands to the caller, as safe for async jobs to write directly. */
export function markPrivate<T extends ArrayBufferView>(a: T): T {
  privateBuffers.add(a.buffer);
  return a;
}

/** Whether `a` was marked by markPrivate. */
export function isPrivate(a: ArrayBufferView): boolean {
  return privateBuffers.has(a.buffer);
}

/** Whether the ArrayBuffer under `view` has been detached (transferred) since it held `length` elements. */
export function isDetached(view: ArrayBufferView, byteLength: number): boolean {
  return byteLength > 0 && view.buffer.byteLength === 0;
}
