/**
 * What every subcommand shares on its command line: the usage error (exit
 * code 2) and the parsers of option values, each naming its flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolveBackend, setThreads } from '../core/backends.js';

/** A bad command line or an unavailable dataset: exit code 2. */
export class UsageError extends Error {}

export function parseInteger(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag} must be an integer, got '${value}'`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer in [${min}, ${max}], got ${value}`);
  return n;
}

export function parseBackend(value: string): 'cpu' | 'cuda' {
  try {
    return resolveBackend('--backend', value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}


/** A finite number given to `flag`. */
export function parseNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a finite number, got '${value}'`);
  return n;
}

/** The flags every file subcommand takes. */
export const COMMON_FLAGS = {
  threads: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const COMMON_HELP = `  --threads T        threads of the native core (default: all cores)
  --json             print the result as one JSON object
  -h, --help         show this help`;

/** A subcommand's flags, parsed strictly (an unknown or malformed flag is a usage error). */
/** The parsed values of a strict parse with these options. */
export type FlagValues<T extends FlagOptions> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values'];
type FlagOptions = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<const T extends FlagOptions>(argv: string[], options: T): FlagValues<T> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * What every subcommand does first: --help prints `help` (then there is
 * nothing more to do: null), --threads sets the core's threads; returns
 * whether --json asks for JSON output.
 */
export function startCommand(values: { help?: boolean; threads?: string; json?: boolean }, help: string): { json: boolean } | null {
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return null;
  }
  const threads = parseInteger('--threads', values.threads, 0, 4096);
  if (threads !== undefined) setThreads(threads);
  return { json: values.json ?? false };
}
