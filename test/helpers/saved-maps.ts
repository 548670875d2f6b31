// Save-and-load checks shared by the feature-map tests (the maps share
// their document handling, so they must refuse the same things).
import { expect } from 'vitest';

interface SavedMap {
  toJSON(): object;
  transformSync(X: unknown, options?: { kernel?: 'ntk' | 'nngp' }): { data: ArrayLike<number> };
}

type FromJSON = (json: unknown) => SavedMap;

/** JSON text shorter than maxLength restores the same document and bit-identical features of X. */
export function expectRoundTrip(map: SavedMap, fromJSON: FromJSON, X: unknown, maxLength: number): void {
  const text = JSON.stringify(map);
  expect(text.length).toBeLessThan(maxLength);
  const back = fromJSON(text);
  expect(back.toJSON()).toEqual(map.toJSON());
  for (const kernel of ['ntk', 'nngp'] as const) {
    expect(back.transformSync(X, { kernel }).data).toEqual(map.transformSync(X, { kernel }).data);
  }
}

/** Refused: another format, no object, invalid JSON text, a missing field, an unknown field. */
export function expectDocumentChecks(fromJSON: FromJSON, doc: object, owner: string, otherFormat: string): void {
  expect(() => fromJSON({ ...doc, format: otherFormat })).toThrow(TypeError);
  expect(() => fromJSON(null)).toThrow(new RegExp(`not a saved ${owner}`));
  expect(() => fromJSON('{"format": ')).toThrow(/not valid JSON/);
  const { seed: _seed, ...noSeed } = doc as { seed?: unknown };
  expect(() => fromJSON(noSeed)).toThrow(/json.seed is missing/);
  expect(() => fromJSON({ ...doc, extra: 1 })).toThrow(/json.extra is not a field/);
}

/** Refused: polynomial coefficients that are not those computed for the saved parameters (doc of depth 2). */
export function expectPolynomialChecks(fromJSON: FromJSON, doc: object): void {
  const copy = () => JSON.parse(JSON.stringify(doc)) as { polynomials: { k0: number[][]; k1: number[][] } };
  const tampered = copy();
  tampered.polynomials.k0[1][1] += 0.01;
  expect(() => fromJSON(tampered)).toThrow(/json.polynomials.k0\[1\]\[1\].*corrupted/);
  const negative = copy();
  negative.polynomials.k1[0][0] = -1;
  expect(() => fromJSON(negative)).toThrow(/json.polynomials.k1\[0\]\[0\] must be a finite number >= 0/);
  const short = copy();
  short.polynomials.k1.pop();
  expect(() => fromJSON(short)).toThrow(/json.polynomials.k1 must hold 2 polynomials/);
  expect(() => fromJSON({ ...doc, approximation: 'taylor' })).toThrow(/does not match the taylor coefficient/);
}
