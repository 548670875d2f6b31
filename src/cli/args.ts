/**
 * What every subcommand shares on its command line: the usage error (exit
 * code 2) and the parsers of option values, each naming its flag.
 */
import { resolveBackend } from '../core/backends.js';

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
