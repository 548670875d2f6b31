#!/usr/bin/env node
/**
 * `ntk-sketch` command line.
 *
 *   ntk-sketch [compare] [options]   the main job: exact NTK kernel ridge, ridge on
 *                                    NTKSketch features and a linear baseline on the
 *                                    packaged digits (or Fashion-MNIST), side by side
 *   ntk-sketch transform ...         features of a data file, with the map saved beside them
 *   ntk-sketch fit ...               streamed ridge on a map's features of a data file -> model file
 *   ntk-sketch predict | evaluate    a model file on a data file: predictions, or accuracy / MSE and R^2
 *   ntk-sketch merge PART...         the model of the rows of all parts (a sharded fit)
 *   ntk-sketch bench ...             benchmark report on this machine, or which map for my data
 *
 * Errors: a message on stderr and exit code 2 for a bad command line, 1 for
 * anything else (a bad data file names the file and line); under --json the
 * message is one JSON object on stderr.
 */
import { createRequire } from 'node:module';
import { compare, COMPARE_HELP } from './compare.js';
import { UsageError } from './args.js';
import { transform } from './transform.js';
import { fit } from './fit.js';
import { evaluate, predict } from './predict.js';
import { merge } from './merge.js';
import { bench } from './bench.js';
import { DataFileError } from '../data/readers/index.js';
import { interruption } from './interrupt.js';

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<void>> = { compare, transform, fit, predict, evaluate, merge, bench };

const USAGE = `Usage: ntk-sketch <command> [options]   (ntk-sketch <command> --help for its options)

Commands:
  compare     exact NTK vs NTKSketch vs linear ridge on digits or Fashion-MNIST
              (the default when no command is given)
  transform   features of a data file (.csv, .tsv, .npy, LIBSVM, IDX) into .npy
  fit         ridge regression or classification on a map's features -> model file
  predict     a model's predictions for a data file (.csv or .npy)
  evaluate    a model's accuracy, or MSE and R^2, on a data file
  merge       join the model files of a sharded fit (fit --shard I/N)
  bench       benchmark report (fidelity, accuracy, speed) on this machine, or
              --recommend: which map for my data

Global:
  --version   print the version

${COMPARE_HELP}`;

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (first === '--help' || first === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (first !== undefined && !first.startsWith('-')) {
    const run = SUBCOMMANDS[first];
    if (!run) throw new UsageError(`unknown command '${first}' (commands: ${Object.keys(SUBCOMMANDS).join(', ')})`);
    return run(rest);
  }
  return compare(argv);
}

const argv = process.argv.slice(2);
main(argv).catch((error: unknown) => {
  const interrupted = interruption();
  if (interrupted) {
    // Ctrl-C or SIGTERM: the command has removed its temporaries (interrupt.ts).
    process.exitCode = interrupted.code;
    process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}ntk-sketch: ${interrupted.message}\n`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  const usage = error instanceof UsageError;
  process.exitCode = usage ? 2 : 1;
  if (argv.includes('--json')) {
    const where = error instanceof DataFileError ? { file: error.file, line: error.line, row: error.record, column: error.column } : {};
    process.stderr.write(`${JSON.stringify({ error: message.split('\n')[0], kind: usage ? 'usage' : error instanceof DataFileError ? 'data' : 'error', ...where })}\n`);
    return;
  }
  const hint = usage ? ` (see ntk-sketch ${SUBCOMMANDS[argv[0]] ? `${argv[0]} ` : ''}--help)` : '';
  const clear = process.stderr.isTTY ? '\r\x1b[K' : '';
  process.stderr.write(`${clear}ntk-sketch: ${message.split('\n')[0]}${hint}\n`);
});
