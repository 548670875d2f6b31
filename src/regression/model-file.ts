/**
 * Model files: a FeatureRidge with its map, its sufficient statistics and its
 * solution, in a versioned binary format with a checksum, so that a model
 * can be loaded to predict, continue `partialFit` where it stopped, or be
 * merged with models of other rows fitted elsewhere (data-parallel fits).
 *
 * Layout (little-endian):
 *
 *     "NTKSMODL"              8 bytes, the magic
 *     version                 uint32 (1)
 *     header length H         uint32
 *     header                  H bytes of UTF-8 JSON (the map's saved document, the
 *                             model's options and classes, what the data looked like,
 *                             the row ranges fitted, and the list of blocks below),
 *                             zero-padded to a multiple of 8 bytes
 *     blocks                  float64 arrays, in the header's order: per part of the
 *                             rows (fit, then validation) [rows, sum of y^2], Y^T 1,
 *                             Phi^T [Y 1], Phi^T Phi; then the weights and intercept
 *     checksum                32 bytes, SHA-256 of everything before
 *
 * Written under a temporary name and renamed; read with every length and the
 * checksum checked (a truncated, corrupted or foreign file is refused with
 * the reason). A merge reads the parts one at a time.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { DataFileError } from '../data/readers/common.js';
import { ByteFileWriter } from '../data/writers.js';
import { mapFromJSON } from '../maps/saved-map.js';
import { asMapInput, type FeatureMap } from '../maps/feature-map.js';
import type { RowsLike } from '../core/inputs.js';
import { ExactKernelRidge, type ExactKernelRidgeState } from './exact-kernel-ridge.js';
import { FeatureRidge, type FeatureRidgeState, type StatisticsData } from './feature-ridge.js';
import type { PathSolver } from './lambda-path.js';

export const MODEL_MAGIC = 'NTKSMODL';
export const MODEL_VERSION = 1;

/** A range of rows [begin, end) of a file that a model was fitted on. */
export interface RowRange {
  file: string;
  begin: number;
  end: number;
}

/** What the data looked like (saved with the model; merges check and join it). */
export interface ModelData {
  /** Values per input row (the map's input). */
  columns: number;
  /** Names of the target columns (CSV header names, else y, y0, y1, ...). */
  targetNames: string[];
  /** The rows fitted, as ranges of files. */
  ranges: RowRange[];
}

interface Block {
  name: string;
  length: number;
}

interface Header {
  /** What the file holds (absent in files of the first builds: a feature ridge). */
  kind?: 'feature-ridge' | 'exact-kernel-ridge';
  map: unknown;
  data: ModelData;
  model?: Omit<FeatureRidgeState, 'fit' | 'validationPart' | 'solution'> & { solvedLambda: number | null };
  exact?: Omit<ExactKernelRidgeState, 'train' | 'dual' | 'offset'> & { outputs: number };
  blocks: Block[];
}

const PART_BLOCKS = ['scalars', 'ysum', 'rhs', 'gram'] as const;

function blocksOf(state: FeatureRidgeState, m: number): Block[] {
  const k = state.outputs, blocks: Block[] = [];
  const part = (prefix: string) => {
    blocks.push({ name: `${prefix}.scalars`, length: 2 }, { name: `${prefix}.ysum`, length: k }, { name: `${prefix}.rhs`, length: m * (k + 1) }, { name: `${prefix}.gram`, length: m * m });
  };
  if (state.fit) part('fit');
  if (state.validationPart) part('validation');
  if (state.solution) blocks.push({ name: 'solution.weights', length: m * k }, { name: 'solution.intercept', length: k });
  return blocks;
}

function partArrays(p: StatisticsData): Float64Array[] {
  return [Float64Array.of(p.rows, p.yy), p.ysum, p.rhs, p.gram];
}

const bytesOf = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes a container: the magic, version, the header (with the blocks' names and lengths) and the arrays, then the checksum. */
async function writeContainer(path: string, header: Header, arrays: Float64Array[]): Promise<void> {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(16 + padded);
  head.set(new TextEncoder().encode(MODEL_MAGIC), 0);
  const view = new DataView(head.buffer);
  view.setUint32(8, MODEL_VERSION, true);
  view.setUint32(12, json.length, true);
  head.set(json, 16);
  const hash = createHash('sha256');
  const writer = await ByteFileWriter.create(path);
  const put = async (bytes: Uint8Array) => {
    hash.update(bytes);
    await writer.write(bytes);
  };
  try {
    await put(head);
    // Large blocks in pieces: the hash and the write never copy a whole Gram matrix.
    for (const a of arrays) {
      const bytes = bytesOf(a);
      for (let at = 0; at < bytes.length; at += 1 << 26) await put(bytes.subarray(at, Math.min(bytes.length, at + (1 << 26))));
    }
    await writer.write(new Uint8Array(hash.digest()));
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.close();
}

/** Writes `model` (its map, statistics and solution) with `data` to `path`, atomically. */
export async function saveModel(path: string, model: FeatureRidge, data: ModelData): Promise<void> {
  const state = model.state();
  const { fit, validationPart, solution, ...options } = state;
  const arrays: Float64Array[] = [];
  if (fit) arrays.push(...partArrays(fit));
  if (validationPart) arrays.push(...partArrays(validationPart));
  if (solution) arrays.push(solution.weights, solution.intercept);
  const header: Header = {
    kind: 'feature-ridge',
    map: model.map.toJSON(),
    data,
    model: { ...options, solvedLambda: solution?.lambda ?? null },
    blocks: blocksOf(state, model.map.features),
  };
  await writeContainer(path, header, arrays);
}

/** Writes an exact kernel model (its training rows and dual weights) with `data` to `path`, atomically. */
export async function saveExactModel(path: string, model: ExactKernelRidge, data: ModelData): Promise<void> {
  const { train, dual, offset, ...rest } = model.state();
  const header: Header = {
    kind: 'exact-kernel-ridge',
    map: null,
    data,
    exact: { ...rest, outputs: offset.length },
    blocks: [{ name: 'train', length: train.length }, { name: 'dual', length: dual.length }, { name: 'offset', length: offset.length }],
  };
  await writeContainer(path, header, [train, dual, offset]);
}

/** A model file opened for reading: its header, checked, and a reader of its blocks in order. */
class ModelReader {
  private position = 0;
  private readonly hash = createHash('sha256');

  private constructor(
    readonly path: string,
    readonly header: Header,
    private readonly fh: Awaited<ReturnType<typeof open>>,
    private readonly size: number,
  ) {}

  static async open(path: string): Promise<ModelReader> {
    let size: number;
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      size = (await stat(path)).size;
      fh = await open(path, 'r');
    } catch (error) {
      throw new DataFileError(path, `cannot read the model: ${(error as Error).message}`);
    }
    try {
      const reader = new ModelReader(path, {} as Header, fh, size);
      const head = await reader.take(16, 'the file header');
      if (new TextDecoder().decode(head.subarray(0, 8)) !== MODEL_MAGIC) {
        throw new DataFileError(path, `is not an ntk-sketch model file (no ${MODEL_MAGIC} magic)`);
      }
      const view = new DataView(head.buffer, head.byteOffset, 16);
      const version = view.getUint32(8, true);
      if (version !== MODEL_VERSION) {
        throw new DataFileError(path, `model file version ${version} is not supported (this version of ntk-sketch reads version ${MODEL_VERSION}); refit, or use the version that wrote it`);
      }
      const length = view.getUint32(12, true);
      const json = await reader.take(Math.ceil(length / 8) * 8, 'the model header');
      let header: Header;
      try {
        header = JSON.parse(new TextDecoder().decode(json.subarray(0, length))) as Header;
      } catch {
        throw new DataFileError(path, 'the model header is corrupted (not JSON)');
      }
      if (!header || !Array.isArray(header.blocks) || !(header.model || header.exact) || !header.data) throw new DataFileError(path, 'the model header is incomplete');
      for (const b of header.blocks as unknown[]) {
        const block = b as { name?: unknown; length?: unknown } | null;
        if (!block || typeof block.name !== 'string' || !Number.isSafeInteger(block.length) || (block.length as number) < 0) {
          throw new DataFileError(path, 'the model header is corrupted (a block without a name or a length)');
        }
      }
      const expected = 16 + json.length + header.blocks.reduce((s, b) => s + 8 * b.length, 0) + 32;
      if (size < expected) throw new DataFileError(path, `is truncated: ${size} bytes, the header describes ${expected}`);
      if (size > expected) throw new DataFileError(path, `has ${size - expected} bytes after its end: corrupted`);
      (reader as { header: Header }).header = header;
      return reader;
    } catch (error) {
      await fh.close();
      throw error;
    }
  }

  private async take(bytes: number, what: string): Promise<Uint8Array> {
    // A damaged length must not become a huge allocation or read.
    if (this.position + bytes > this.size) throw new DataFileError(this.path, `is truncated in ${what}: it needs ${bytes} bytes at offset ${this.position}, the file has ${this.size}`);
    const out = new Uint8Array(bytes);
    let done = 0;
    while (done < bytes) {
      const { bytesRead } = await this.fh.read(out, done, bytes - done, this.position + done);
      if (bytesRead === 0) throw new DataFileError(this.path, `is truncated in ${what}`);
      done += bytesRead;
    }
    this.position += bytes;
    this.hash.update(out);
    return out;
  }

  /** The next block, which must be `name`. */
  async block(name: string): Promise<Float64Array> {
    const b = this.header.blocks.find((x) => x.name === name);
    if (!b) throw new DataFileError(this.path, `has no ${name} block`);
    const bytes = await this.take(8 * b.length, `block ${name}`);
    return new Float64Array(bytes.buffer, bytes.byteOffset, b.length);
  }

  has(name: string): boolean {
    return this.header.blocks.some((b) => b.name === name);
  }

  /** Checks the checksum (after every block was read) and closes the file. */
  async finish(): Promise<void> {
    try {
      const digest = this.hash.digest();
      const stored = new Uint8Array(32);
      const { bytesRead } = await this.fh.read(stored, 0, 32, this.position);
      if (bytesRead !== 32 || !Buffer.from(stored).equals(digest)) {
        throw new DataFileError(this.path, 'is corrupted: its checksum does not match its contents');
      }
    } finally {
      await this.fh.close();
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  async part(prefix: 'fit' | 'validation'): Promise<StatisticsData | null> {
    if (!this.has(`${prefix}.scalars`)) return null;
    const values: Float64Array[] = [];
    for (const name of PART_BLOCKS) values.push(await this.block(`${prefix}.${name}`));
    return { rows: values[0][0], yy: values[0][1], ysum: values[1], rhs: values[2], gram: values[3] };
  }
}

/** Reads a model file: the map, the model (statistics and solution) and what the data looked like. */
/** Options of loadModel: the memory limit of the restored map and model, and the lambda path solver of its next solve. */
export interface LoadModelOptions {
  memoryLimit?: number;
  solver?: 'auto' | PathSolver;
}

export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<{ model: FeatureRidge; map: FeatureMap; data: ModelData }> {
  const reader = await ModelReader.open(path);
  if (reader.header.kind === 'exact-kernel-ridge') {
    await reader.close();
    throw new DataFileError(path, 'holds an exact kernel model (training rows and dual weights, no statistics): it predicts, but cannot continue a fit or be merged');
  }
  return readFeatureRidge(path, reader, options);
}

/** The FeatureRidge of an opened model file (its header read): the map, the blocks, the checksum. */
async function readFeatureRidge(path: string, reader: ModelReader, options: LoadModelOptions): Promise<{ model: FeatureRidge; map: FeatureMap; data: ModelData }> {
  let map: FeatureMap;
  try {
    map = mapFromJSON(reader.header.map, options.memoryLimit !== undefined ? { memoryLimit: options.memoryLimit } : {});
  } catch (error) {
    await reader.close();
    throw new DataFileError(path, `its map is invalid: ${(error as Error).message}`);
  }
  try {
    const fit = await reader.part('fit');
    const validationPart = await reader.part('validation');
    let solution: FeatureRidgeState['solution'] = null;
    if (reader.has('solution.weights')) {
      solution = { lambda: reader.header.model?.solvedLambda as number, weights: await reader.block('solution.weights'), intercept: await reader.block('solution.intercept') };
    }
    await reader.finish();
    const { solvedLambda: _solved, ...options0 } = reader.header.model as NonNullable<Header['model']>;
    const model = FeatureRidge.fromState(map, { ...options0, fit, validationPart, solution }, options);
    return { model, map, data: reader.header.data };
  } catch (error) {
    map.dispose();
    await reader.close().catch(() => undefined);
    if (error instanceof DataFileError) throw error;
    throw new DataFileError(path, `is not a valid model: ${(error as Error).message}`);
  }
}

/**
 * Merges model files of disjoint rows fitted with the same map and options
 * (one part per shard): their statistics added, lambda chosen again on the
 * merged validation rows, solved, written to `out`. Reads one part at a
 * time. Refuses parts that differ in map, options or target columns, and row
 * ranges of a file that overlap or leave rows out.
 */
export async function mergeModelFiles(paths: readonly string[], out: string, options: { memoryLimit?: number } = {}): Promise<{ model: FeatureRidge; data: ModelData }> {
  if (paths.length === 0) throw new RangeError('merge needs at least one model file');
  let merged: FeatureRidge | null = null;
  let data: ModelData | null = null;
  let first = '';
  try {
    for (const path of paths) {
      const part = await loadModel(path, options);
      if (!merged || !data) {
        merged = part.model;
        data = { ...part.data, ranges: [...part.data.ranges] };
        first = path;
        continue;
      }
      try {
        if (part.data.columns !== data.columns || JSON.stringify(part.data.targetNames) !== JSON.stringify(data.targetNames)) {
          throw new DataFileError(path, `was fitted on other data than ${first} (columns ${part.data.columns} vs ${data.columns}, targets ${part.data.targetNames.join(',')} vs ${data.targetNames.join(',')})`);
        }
        try {
          merged.include(part.model);
        } catch (error) {
          throw new DataFileError(path, `cannot be merged with ${first}: ${(error as Error).message}`);
        }
        data.ranges.push(...part.data.ranges);
      } finally {
        part.map.dispose();
      }
    }
    checkRanges(data as ModelData, paths);
    const model = merged as FeatureRidge;
    await model.solve();
    await saveModel(out, model, data as ModelData);
    return { model, data: data as ModelData };
  } catch (error) {
    merged?.map.dispose();
    throw error;
  }
}

/** Row ranges of the same file must not overlap and must leave no gap from row 0 to the last. */
function checkRanges(data: ModelData, paths: readonly string[]): void {
  const byFile = new Map<string, RowRange[]>();
  for (const r of data.ranges) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  for (const [file, ranges] of byFile) {
    ranges.sort((a, b) => a.begin - b.begin);
    let end = 0;
    for (const r of ranges) {
      if (r.begin < end) throw new RangeError(`merge: the parts overlap: rows [${r.begin}, ${Math.min(end, r.end)}) of ${file} were fitted twice (parts: ${paths.join(', ')})`);
      if (r.begin > end) throw new RangeError(`merge: rows [${end}, ${r.begin}) of ${file} are in no part (a shard is missing?)`);
      end = r.end;
    }
  }
}

/** A fitted model of either kind, as predict and evaluate use it. */
export interface Predictor {
  kind: 'feature-ridge' | 'exact-kernel-ridge';
  task: 'regression' | 'classification';
  classes: number[] | null;
  data: ModelData;
  /** Whether rows are read as images [C, H, W] (CNTK maps and kernels). */
  imageShape: readonly [number, number, number] | null;
  /** The element type the model reads its rows in. */
  dtype: 'float32' | 'float64';
  /** Outputs (n x k) of a batch of rows (or images). */
  predict(X: { data: Float32Array | Float64Array; shape: readonly number[]; indptr?: Int32Array; indices?: Int32Array }): Promise<{ data: Float64Array; shape: number[] }>;
  dispose(): void;
}

/** Reads a model file of either kind for prediction. */
export async function loadPredictor(path: string, options: { memoryLimit?: number } = {}): Promise<Predictor> {
  const reader = await ModelReader.open(path);
  if (reader.header.kind !== 'exact-kernel-ridge') {
    const { model, map, data } = await readFeatureRidge(path, reader, options);
    const layout = map.inputLayout;
    return {
      kind: 'feature-ridge', task: model.task, classes: model.classes, data, dtype: map.dtype,
      imageShape: layout.kind === 'images' ? layout.shape : null,
      predict: async (X) => {
        const r = await model.predict(asMapInput(X, layout) as RowsLike);
        return { data: r.data, shape: [r.shape[0], r.shape[1]] };
      },
      dispose: () => map.dispose(),
    };
  }
  try {
    const e = reader.header.exact as NonNullable<Header['exact']>;
    const train = await reader.block('train'), dual = await reader.block('dual'), offset = await reader.block('offset');
    await reader.finish();
    const { outputs: _k, ...rest } = e;
    const model = ExactKernelRidge.fromState({ ...rest, train, dual, offset }, options.memoryLimit);
    const shape = e.kernel.kind === 'cntk' ? e.kernel.inputShape : null;
    return {
      kind: 'exact-kernel-ridge', task: e.task, classes: e.classes, data: reader.header.data, dtype: 'float64', imageShape: shape,
      predict: async (X) => {
        if (X.indptr) throw new DataFileError(path, 'an exact kernel model reads dense rows, not sparse ones');
        const n = X.shape[0];
        const x = X.data instanceof Float64Array ? X.data : Float64Array.from(X.data);
        const r = await model.predict(x, n);
        return { data: r.data, shape: [n, r.shape[1]] };
      },
      dispose: () => undefined,
    };
  } catch (error) {
    await reader.close().catch(() => undefined);
    if (error instanceof DataFileError) throw error;
    throw new DataFileError(path, `is not a valid model: ${(error as Error).message}`);
  }
}
