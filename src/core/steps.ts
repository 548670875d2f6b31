/**
 * One implementation for the sync and async form of a multi-step native
 * operation: the operation is a generator that yields what each native call
 * returns (undefined when run synchronously, a Promise when asynchronously).
 */
export type Steps<R = void> = Generator<Promise<void> | undefined, R>;

/** Drives the steps synchronously (native calls ran in place). */
export function runSync<R>(steps: Generator<Promise<void> | undefined, R>): R {
  let r = steps.next();
  while (!r.done) r = steps.next();
  return r.value;
}

/** Drives the steps asynchronously, awaiting each native job. */
export async function runAsync<R>(steps: Generator<Promise<void> | undefined, R>): Promise<R> {
  let r = steps.next();
  while (!r.done) {
    try {
      await r.value;
    } catch (error) {
      r = steps.throw(error);
      continue;
    }
    r = steps.next();
  }
  return r.value;
}
