/**
 * Interleaved timing: every task runs once per round, the order rotated each
 * round and the garbage collector run before each task (outside its time),
 * so that the noise of a shared machine hits every task alike and no task
 * pays for freeing another's output. Round 0 is a warm-up and is not
 * recorded. Self-contained (performance.now); ratios between tasks of one
 * call are what a report should quote.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { spread, type Spread } from './stats.js';

/** A named task; it may return a Promise (awaited inside its time). */
export type TimedTask = [name: string, run: () => unknown];

let collect: (() => void) | null = null;

/** The garbage collector, exposed once for this process. */
function gc(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}

/**
 * Milliseconds of each task in each of `rounds` recorded rounds (after one
 * warm-up round). Task names must be distinct.
 */
export async function timeInterleaved(tasks: readonly TimedTask[], rounds: number): Promise<Map<string, number[]>> {
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  const samples = new Map<string, number[]>();
  for (const [name] of tasks) {
    if (samples.has(name)) throw new RangeError(`timeInterleaved: task name '${name}' is not unique`);
    samples.set(name, []);
  }
  for (let round = 0; round <= rounds; round++) {
    for (let k = 0; k < tasks.length; k++) {
      const [name, run] = tasks[(k + round) % tasks.length];
      gc();
      const t0 = performance.now();
      await run();
      const ms = performance.now() - t0;
      if (round > 0) samples.get(name)!.push(ms);
    }
  }
  return samples;
}

/** Min / median / max milliseconds of each task (timeInterleaved, summarised). */
export async function timeSpreads(tasks: readonly TimedTask[], rounds: number): Promise<Map<string, Spread>> {
  const samples = await timeInterleaved(tasks, rounds);
  return new Map([...samples].map(([name, ms]) => [name, spread(ms)]));
}

/** The median of a sample. */
export function median(values: readonly number[]): number {
  return spread(values).median;
}
