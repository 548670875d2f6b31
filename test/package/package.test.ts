// What the published package carries: the licence package.json names, and
// source maps that work without the sources (they are not shipped: the maps
// embed them).
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string; files: string[] };

function mapsUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? mapsUnder(join(dir, e.name)) : e.name.endsWith('.js.map') ? [join(dir, e.name)] : []);
}

describe('the package', () => {
  it('ships the MIT licence package.json declares', () => {
    expect(pkg.license).toBe('MIT');
    const text = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^MIT License/);
    expect(text).toMatch(/Permission is hereby granted, free of charge/);
  });

  it.skipIf(!existsSync(join(root, 'dist')))('every source map embeds the sources it points to (src/ is not shipped)', () => {
    expect(pkg.files).not.toContain('src');
    const maps = mapsUnder(join(root, 'dist'));
    expect(maps.length).toBeGreaterThan(20);
    for (const path of maps) {
      const map = JSON.parse(readFileSync(path, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, path).toBe(map.sources.length);
      for (const content of map.sourcesContent ?? []) expect(content, path).toBeTruthy();
    }
  });
});
