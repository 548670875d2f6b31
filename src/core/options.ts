/**
 * Declarative option tables: each class declares its options once, as a table
 * of fields, and gets from it
 *
 * - validation with defaults (a TypeError or RangeError naming the option,
 *   `json.` prefixed when a saved document is read),
 * - the static types: the options a user passes (`OptionsOf`, with each
 *   field's doc comment) and the resolved values (`ValuesOf`),
 * - the fields toJSON writes and fromJSON reads (`savedKeys`, `savedValues`).
 *
 * Not a schema library: the validators and messages of src/core/arrays.ts are
 * the library's contract (tests pin them), and a library's errors would have
 * to be translated back into them; a table of these readers is shorter than
 * that translation and gives the same static types.
 */
import {
  booleanOption,
  checkOptions,
  describe,
  dtypeOption,
  intOption,
  memoryLimitOption,
  seedOption,
  type DType,
} from './arrays.js';

/** Values read so far (fields are read in table order), the raw options, and the message name of a field. */
export interface ReadContext {
  resolved: Record<string, unknown>;
  raw: Record<string, unknown>;
  /** `key` with the message prefix ('json.' when a saved document is read). */
  name(key: string): string;
}

/**
 * One field: `read` validates a given value; `fallback` (when present) gives
 * the value when the option is absent, else the option is required. `saved`
 * fields are written by toJSON. `I` is the type users pass, `V` the resolved one.
 */
export interface Field<V, I, Required extends boolean, Saved extends boolean> {
  readonly read: (name: string, value: unknown, context: ReadContext) => V;
  readonly fallback?: (context: ReadContext) => V;
  readonly required: Required;
  readonly saved: Saved;
  /** Phantom: the input type. */
  readonly input?: I;
}

/** A field under construction: `.default(...)` makes it optional, `.save()` saves it. */
export class FieldBuilder<V, I, Required extends boolean, Saved extends boolean> implements Field<V, I, Required, Saved> {
  constructor(
    readonly read: (name: string, value: unknown, context: ReadContext) => V,
    readonly required: Required,
    readonly saved: Saved,
    readonly fallback?: (context: ReadContext) => V,
  ) {}

  /** Optional, with this value (or a function of the fields read before it) when absent. */
  default(value: V | ((context: ReadContext) => V)): FieldBuilder<V, I, false, Saved> {
    const fallback = typeof value === 'function' ? (value as (context: ReadContext) => V) : () => value;
    return new FieldBuilder<V, I, false, Saved>(this.read, false, this.saved, fallback);
  }

  /** Written by toJSON and read back by fromJSON. */
  save(): FieldBuilder<V, I, Required, true> {
    return new FieldBuilder<V, I, Required, true>(this.read, this.required, true, this.fallback);
  }
}

/** A required field read by `read`; I is what users may pass. */
export function field<V, I = V>(read: (name: string, value: unknown, context: ReadContext) => V): FieldBuilder<V, I, true, false> {
  return new FieldBuilder<V, I, true, false>(read, true, false);
}

/** The readers every table uses. */
export const fields = {
  /** An integer in [min, max] (bounds may depend on fields read before). */
  int: (min: number | ((c: ReadContext) => number), max: number | ((c: ReadContext) => number)) =>
    field<number>((name, v, c) => intOption(name, v, typeof min === 'function' ? min(c) : min, typeof max === 'function' ? max(c) : max)),
  boolean: (fallback: boolean) => field<boolean>((name, v) => booleanOption(name, v, fallback)).default(fallback),
  seed: () => field<number>((name, v) => seedOption(name, v)).default(0),
  dtype: () => field<DType>((name, v) => dtypeOption(name, v)).default('float32'),
  memoryLimit: () => field<number>((name, v) => memoryLimitOption(name, v)).default(memoryLimitOption('memoryLimit', undefined)),
  /** One of the given strings (TypeError for a non-string, RangeError for another string). */
  oneOf: <const S extends string>(values: readonly S[]) =>
    field<S>((name, v) => {
      const list = values.map((s) => `'${s}'`).join(', ').replace(/, ([^,]*)$/, ' or $1');
      if (typeof v !== 'string') throw new TypeError(`${name} must be ${list}, got ${describe(v)}`);
      if (!values.includes(v as S)) throw new RangeError(`${name} must be ${list}, got '${v}'`);
      return v as S;
    }),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any field, whatever its types
type AnyField = Field<any, any, boolean, boolean>;
export type Table = Record<string, AnyField>;

type InputOf<F> = F extends Field<unknown, infer I, boolean, boolean> ? I : never;
type ValueOf<F> = F extends Field<infer V, unknown, boolean, boolean> ? V : never;
type RequiredKeys<T extends Table> = { [K in keyof T]: T[K]['required'] extends true ? K : never }[keyof T];
type OptionalKeys<T extends Table> = Exclude<keyof T, RequiredKeys<T>>;
type SavedKeys<T extends Table> = { [K in keyof T]: T[K]['saved'] extends true ? K : never }[keyof T];
/** Inputs keyed like the table (homomorphic, so each field keeps its doc comment). */
type Inputs<T extends Table> = { [K in keyof T]: InputOf<T[K]> };

/** The options users pass: required fields, then optional ones. */
export type OptionsOf<T extends Table> = Pick<Inputs<T>, RequiredKeys<T>> & Partial<Pick<Inputs<T>, OptionalKeys<T>>>;
/** The resolved values, every field present. */
export type ValuesOf<T extends Table> = { [K in keyof T]: ValueOf<T[K]> };
/** The saved subset of the values. */
export type SavedOf<T extends Table> = Pick<ValuesOf<T>, SavedKeys<T>>;

export interface ResolveOptions {
  /** Message prefix of every field ('' for constructor options, 'json.' for saved documents). */
  prefix?: string;
  /** Names the call in messages, e.g. 'NTKSketch' or 'NTKSketch.fromJSON'. */
  what: string;
  /** An example call, quoted when the options are missing altogether. */
  example: string;
}

/** Validates `options` against `table`, fields in table order. */
export function resolveOptions<T extends Table>(table: T, options: unknown, how: ResolveOptions): ValuesOf<T> {
  const keys = Object.keys(table);
  if (options === undefined) {
    const required = keys.filter((k) => table[k].required);
    throw new TypeError(`${how.what} needs options { ${required.join(', ')} }, e.g. ${how.example}`);
  }
  const raw = checkOptions(`${how.what} options`, options, keys);
  const resolved: Record<string, unknown> = {};
  const name = (key: string) => `${how.prefix ?? ''}${key}`;
  const context: ReadContext = { resolved, raw, name };
  for (const key of keys) {
    const f = table[key];
    const value = raw[key];
    resolved[key] = value === undefined && f.fallback ? f.fallback(context) : f.read(name(key), value, context);
  }
  return resolved as ValuesOf<T>;
}

/** The keys toJSON writes, in table order. */
export function savedKeys<T extends Table>(table: T): (keyof SavedOf<T> & string)[] {
  return Object.keys(table).filter((k) => table[k].saved) as (keyof SavedOf<T> & string)[];
}

/** The saved fields of resolved values, in table order. */
export function savedValues<T extends Table>(table: T, values: ValuesOf<T>): SavedOf<T> {
  return Object.fromEntries(savedKeys(table).map((k) => [k, values[k]])) as SavedOf<T>;
}
