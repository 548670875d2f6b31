// Assertions shared by the tests.
import { expect } from 'vitest';
import type { Arr } from './matrices.js';

/** Largest elementwise |a - b| / |b| (b must be nonzero where compared). */
export function maxRelErr(a: Arr, b: Arr, skip?: (i: number) => boolean): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) {
    if (skip?.(i)) continue;
    e = Math.max(e, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  }
  return e;
}

/** Asserts that fn throws an instance of cls whose message matches re. */
export function expectThrows(fn: () => unknown, cls: ErrorConstructor, re: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${cls.name} matching ${re}`).toBeInstanceOf(cls);
  expect((caught as Error).message).toMatch(re);
}
