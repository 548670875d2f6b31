/**
 * One implementation for the sync and async form of a multi-step native
 * operation: the operation is a generator that yields what each native call
 * returns (undefined when run synchronously, a Promise when asynchronously).
 *
 * Long calls take `{ signal, onProgress }` ({@link CallControl}): the signal
 * is checked before every step and when each native job settles, so an
 * abort settles the call after at most the step running (steps are sized to
 * a fraction of a second: transforms in row blocks, the CNTK in row blocks,
 * the exact NTK between 256 x 256 tiles through a native flag).
 */
import { checkOptions, describe } from './arrays.js';

export type Steps<R = void> = Generator<Promise<void> | undefined, R>;

/** Cancellation and progress of a long call. */
export interface CallControl {
  /** Aborting it rejects the call with an AbortError (a DOMException) and leaves outputs as they were. */
  signal?: AbortSignal;
  /** Called after each step with the work done and the total (rows, pairs or tiles, as the call says). */
  onProgress?: (done: number, total: number) => void;
}

/** The option keys of {@link CallControl}. */
export const CONTROL_KEYS = ['signal', 'onProgress'] as const;

/** Validates the signal and onProgress options of `owner` (e.g. 'transform options'). */
export function controlOptions(owner: string, options: Record<string, unknown>): CallControl {
  const { signal, onProgress } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${owner}.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError(`${owner}.onProgress must be a function (done, total) => void, got ${describe(onProgress)}`);
  }
  return { signal: signal as AbortSignal | undefined, onProgress: onProgress as CallControl['onProgress'] };
}

/** Options that are only { signal, onProgress } (e.g. a fit's), checked: unknown keys and bad values name `owner`. */
export function controlOnlyOptions(owner: string, options: unknown): CallControl {
  return controlOptions(owner, checkOptions(owner, options, CONTROL_KEYS));
}

/** The error an aborted call rejects with: a DOMException named 'AbortError', the signal's reason as its cause. */
export function abortError(signal: AbortSignal): DOMException {
  const error = new DOMException('The operation was aborted', 'AbortError');
  if (signal.reason !== undefined) Object.defineProperty(error, 'cause', { value: signal.reason, configurable: true });
  return error;
}

/** Throws the AbortError when `signal` is aborted. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Closes the steps (their finally blocks run) and throws the AbortError of `signal`. */
function stopAborted<R>(steps: Generator<Promise<void> | undefined, R>, signal: AbortSignal): never {
  steps.return(undefined as R);
  throw abortError(signal);
}

/** Drives the steps synchronously (native calls ran in place); a signal already aborted (or aborted by onProgress) stops it between steps. */
export function runSync<R>(steps: Generator<Promise<void> | undefined, R>, signal?: AbortSignal): R {
  checkAborted(signal);
  let r = steps.next();
  while (!r.done) {
    if (signal?.aborted) stopAborted(steps, signal);
    r = steps.next();
  }
  return r.value;
}

/** Drives the steps asynchronously, awaiting each native job; `signal` stops it between steps. */
export async function runAsync<R>(steps: Generator<Promise<void> | undefined, R>, signal?: AbortSignal): Promise<R> {
  checkAborted(signal);
  let r = steps.next();
  while (!r.done) {
    try {
      await r.value;
    } catch (error) {
      if (signal?.aborted) stopAborted(steps, signal);
      r = steps.throw(error);
      continue;
    }
    if (signal?.aborted) stopAborted(steps, signal);
    r = steps.next();
  }
  return r.value;
}

/**
 * The native job `job` (async: a Promise), which writes only into buffers
 * this call allocated, settled as soon as `signal` aborts: the job runs to its
 * end in the background and its results are dropped, so that an abort does
 * not wait for a factorisation of minutes. (Sync jobs run in place.)
 */
export function abortable(job: Promise<void> | undefined, signal: AbortSignal | undefined): Promise<void> | undefined {
  if (!job || !signal) return job;
  if (signal.aborted) {
    job.catch(() => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    job.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
