/**
 * A saved feature map of any kind back into a map: the document's `format`
 * field names the class (NTKSketch, NTKRandomFeatures, CNTKSketch,
 * LeverageSelection, NTKNystrom), whose fromJSON then checks the rest.
 */
import { describe } from '../core/arrays.js';
import { CNTKSketch, CNTK_SKETCH_FORMAT } from './cntk-sketch.js';
import type { FeatureMap } from './feature-map.js';
import { LeverageSelection, LEVERAGE_SELECTION_FORMAT } from './leverage-selection.js';
import { NTKNystrom, NTK_NYSTROM_FORMAT } from './ntk-nystrom.js';
import { NTKRandomFeatures, NTK_RANDOM_FEATURES_FORMAT } from './ntk-random-features.js';
import { NTKSketch, NTK_SKETCH_FORMAT } from './ntk-sketch.js';

const LOADERS: Record<string, (json: unknown, options: { memoryLimit?: number }) => FeatureMap> = {
  [NTK_SKETCH_FORMAT]: NTKSketch.fromJSON,
  [NTK_RANDOM_FEATURES_FORMAT]: NTKRandomFeatures.fromJSON,
  [CNTK_SKETCH_FORMAT]: CNTKSketch.fromJSON,
  [LEVERAGE_SELECTION_FORMAT]: LeverageSelection.fromJSON,
  [NTK_NYSTROM_FORMAT]: NTKNystrom.fromJSON,
};

/** The formats {@link mapFromJSON} reads. */
export const SAVED_MAP_FORMATS: readonly string[] = Object.keys(LOADERS);

/**
 * Restores the map a toJSON() document (object or JSON string) describes,
 * whichever class wrote it: bit-identical features. Refuses a document with
 * no known `format` (TypeError), then whatever that class's fromJSON refuses.
 */
export function mapFromJSON(json: unknown, options: { memoryLimit?: number } = {}): FeatureMap {
  let doc = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (error) {
      throw new TypeError(`json is not valid JSON: ${(error as Error).message}`);
    }
  }
  const format = doc !== null && typeof doc === 'object' ? (doc as { format?: unknown }).format : undefined;
  const load = typeof format === 'string' && Object.hasOwn(LOADERS, format) ? LOADERS[format] : undefined;
  if (!load) {
    throw new TypeError(`json is not a saved feature map: format must be one of ${SAVED_MAP_FORMATS.map((f) => `'${f}'`).join(', ')}, got ${describe(format)}`);
  }
  return load(doc, options);
}
