/**
 * The batch loop of the file-reading subcommands: every batch of a source
 * through a step, the next batch read while the step works on the current
 * one (the map runs off the JavaScript thread, so parsing and featurising
 * overlap), with the time spent waiting for the reader and in the step.
 */
import { performance } from 'node:perf_hooks';
import type { DataBatch, DataSource } from '../data/readers/index.js';
import type { Progress } from './progress.js';

/** Seconds spent waiting for the reader and in the step. */
export interface StreamTimes {
  read: number;
  work: number;
}

/** Runs `step` on every batch of `source` (up to the batch holding row `end - 1` when `end` is given). */
export async function forEachBatch(
  source: DataSource, progress: Progress, step: (batch: DataBatch) => Promise<void>, end = Infinity,
): Promise<{ rows: number; times: StreamTimes }> {
  const times = { read: 0, work: 0 };
  const iterator = source.batches()[Symbol.asyncIterator]();
  let rows = 0;
  let t = performance.now();
  let next = iterator.next();
  try {
    for (;;) {
      const item = await next;
      const now = performance.now();
      times.read += now - t;
      if (item.done || item.value.offset >= end) break;
      next = iterator.next(); // read ahead while the step works
      next.catch(() => undefined); // observed below; do not let it reject unobserved if the step fails first
      await step(item.value);
      t = performance.now();
      times.work += t - now;
      rows += item.value.X.shape[0];
      progress.advance(item.value.X.shape[0]);
    }
  } finally {
    await iterator.return?.();
  }
  return { rows, times: { read: times.read / 1000, work: times.work / 1000 } };
}

/** Rows of a source whose count is not known up front (CSV, TSV): one pass that only counts. */
export async function countRows(source: DataSource, progress: Progress): Promise<number> {
  progress.start(`counting the rows of ${source.path}`, 0, 'rows');
  let rows = 0;
  for await (const batch of source.batches()) {
    rows += batch.X.shape[0];
    progress.advance(batch.X.shape[0]);
  }
  return rows;
}
