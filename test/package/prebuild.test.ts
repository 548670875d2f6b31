// The prebuilt addon, when this checkout has one (npm run build:prebuild):
// complete (every library its manifest lists lies beside it), loading its
// own OpenBLAS rather than the system's, and computing the same exact NTK and
// NTKSketch features as the source build, bit for bit.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentAddonPlatform, prebuildTag, type PrebuildManifest } from '../../src/core/addon-platform.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const folder = join(root, 'prebuilds', prebuildTag(currentAddonPlatform()));
const sourceBuild = join(root, 'build-cmake', 'Release', 'ntk_sketch.node');
const ready = existsSync(join(folder, 'prebuild.json')) && existsSync(sourceBuild) && existsSync(join(root, 'dist', 'index.js'));

/** Runs scripts/pack-check-compute.mjs with the addon given. */
function compute(addon: string): { addon: string; openblas: string; ntk: string; ntkSketch: string } {
  const env = { ...process.env, NTK_SKETCH_ADDON: addon, LD_LIBRARY_PATH: '' };
  const r = spawnSync(process.execPath, ['pack-check-compute.mjs'], { cwd: join(root, 'scripts'), env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe.skipIf(!ready)('the prebuilt addon of this checkout', () => {
  it('carries every library its manifest lists and equals the source build bit for bit', () => {
    const manifest = JSON.parse(readFileSync(join(folder, 'prebuild.json'), 'utf8')) as PrebuildManifest;
    expect(manifest.libraries.length).toBeGreaterThan(0);
    for (const lib of [manifest.addon, ...manifest.libraries]) expect(existsSync(join(folder, lib)), lib).toBe(true);
    const prebuilt = compute(join(folder, manifest.addon));
    const source = compute(sourceBuild);
    expect(prebuilt.addon).toBe(join(folder, manifest.addon));
    expect(dirname(prebuilt.openblas)).toBe(folder);
    expect(prebuilt.ntk).toBe(source.ntk);
    expect(prebuilt.ntkSketch).toBe(source.ntkSketch);
  }, 60_000);
});
