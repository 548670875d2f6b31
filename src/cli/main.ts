#!/usr/bin/env node
/**
 * `ntk-sketch` command line. With no subcommand (or `compare`) it runs the
 * main job: exact NTK kernel ridge, ridge on NTKSketch features and a linear
 * baseline on the packaged digits (or Fashion-MNIST), side by side.
 */
import { compare } from './compare.js';
import { UsageError } from './args.js';

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<void>> = { compare };

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first !== undefined && !first.startsWith('-')) {
    const run = SUBCOMMANDS[first];
    if (!run) throw new UsageError(`unknown command '${first}' (commands: ${Object.keys(SUBCOMMANDS).join(', ')})`);
    return run(rest);
  }
  return compare(argv);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof UsageError ? ' (see ntk-sketch --help)' : '';
  const clear = process.stderr.isTTY ? '\r\x1b[K' : '';
  process.stderr.write(`${clear}ntk-sketch: ${message.split('\n')[0]}${hint}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
