/**
 * The model file `ntk-sketch fit` writes and `predict` / `evaluate` read: one
 * JSON document holding the map's own saved document, the solved ridge model
 * (FeatureRidge.toJSON) and what the data looked like (its columns and the
 * names of its targets), written under a temporary name and renamed.
 *
 * Version 1 keeps the solution only; a model file that can continue a fit or
 * be merged with others (the accumulated statistics) is a later version.
 */
import { readFile } from 'node:fs/promises';
import { describe } from '../core/arrays.js';
import type { FeatureMap } from '../maps/feature-map.js';
import { mapFromJSON } from '../maps/saved-map.js';
import { FeatureRidge, type FeatureRidgeJSON } from '../regression/feature-ridge.js';
import { writeTextFile } from '../data/writers.js';
import { DataFileError } from '../data/readers/index.js';

export const MODEL_FORMAT = 'ntk-sketch/model';
export const MODEL_VERSION = 1;

/** What the model was fitted on. */
export interface ModelData {
  /** Values per input row (the map's input). */
  columns: number;
  /** Names of the target columns (CSV header names, else y, y0, y1, ...). */
  targetNames: string[];
  /** Rows fitted. */
  rows: number;
}

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  map: unknown;
  ridge: FeatureRidgeJSON;
  data: ModelData;
}

export async function writeModel(path: string, model: FeatureRidge, data: ModelData): Promise<void> {
  const doc: ModelFile = { format: MODEL_FORMAT, version: MODEL_VERSION, map: model.map.toJSON(), ridge: model.toJSON(), data };
  await writeTextFile(path, `${JSON.stringify(doc)}\n`);
}

/** Reads a model file: the map and the solved model, checked; errors name the file. */
export async function readModel(path: string): Promise<{ model: FeatureRidge; map: FeatureMap; data: ModelData }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DataFileError(path, `cannot read the model: ${(error as Error).message}`);
  }
  let doc: Partial<ModelFile>;
  try {
    doc = JSON.parse(text) as Partial<ModelFile>;
  } catch (error) {
    throw new DataFileError(path, `is not a model file (not JSON: ${(error as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object' || doc.format !== MODEL_FORMAT) {
    throw new DataFileError(path, `is not a model file (format must be '${MODEL_FORMAT}')`);
  }
  if (doc.version !== MODEL_VERSION) {
    throw new DataFileError(path, `model version ${describe(doc.version)} is not supported (this version reads ${MODEL_VERSION})`);
  }
  const data = doc.data as ModelData | undefined;
  if (!data || !Number.isSafeInteger(data.columns) || !Array.isArray(data.targetNames)) {
    throw new DataFileError(path, 'the model file has no valid data description');
  }
  try {
    const map = mapFromJSON(doc.map);
    return { map, model: FeatureRidge.fromJSON(doc.ridge, map), data };
  } catch (error) {
    throw new DataFileError(path, `the model file is damaged: ${(error as Error).message}`);
  }
}
