/**
 * Times async tasks in interleaved rounds (tinybench, one run per task per
 * round, the order rotated each round, garbage collected before each task),
 * so that the noise of a shared machine hits every task alike. Round 0 is a
 * warm-up and is not recorded. Returns the milliseconds of each task per round.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { Bench } from 'tinybench';

export type TimedTask = [name: string, run: () => Promise<unknown>];

export async function timeInterleaved(tasks: TimedTask[], rounds: number): Promise<Map<string, number[]>> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const samples = new Map<string, number[]>(tasks.map(([name]) => [name, []]));
  for (let round = 0; round <= rounds; round++) {
    const bench = new Bench({ iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 });
    for (let k = 0; k < tasks.length; k++) {
      const [name, fn] = tasks[(k + round) % tasks.length];
      bench.add(name, fn, { beforeEach: () => gc() });
    }
    await bench.run();
    if (round === 0) continue;
    for (const task of bench.tasks) {
      const result = task.result as { latency?: { mean: number }; error?: unknown };
      if (!result.latency) throw new Error(`bench task ${task.name} failed: ${String(result.error)}`);
      samples.get(task.name)!.push(result.latency.mean);
    }
  }
  return samples;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
