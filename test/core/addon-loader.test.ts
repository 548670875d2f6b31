// The loader's choice among a source build, the prebuilt addon and an explicit
// path, and its messages when nothing loads: candidates, platform and the
// package folder are injected, so no real addon is removed or broken.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFromSourceInstructions, compareVersions, findPrebuild, prebuildMismatch, prebuildTag,
  type AddonPlatform, type PrebuildManifest,
} from '../../src/core/addon-platform.js';
import { addonCandidates, loadFirstAddon, type AddonCandidate } from '../../src/core/native.js';

const linux: AddonPlatform = { platform: 'linux', arch: 'x64', libc: 'glibc', glibcVersion: '2.36', napi: 9, node: 'v20.20.2' };
const manifest: PrebuildManifest = {
  platform: 'linux', arch: 'x64', libc: 'glibc', napi: 8, minGlibc: '2.34', addon: 'ntk_sketch.node',
  libraries: ['libopenblas.so.0'], cuda: true, blas: 'OpenBLAS',
};

const scratch = mkdtempSync(join(tmpdir(), 'ntk-loader-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A package folder carrying a prebuild for `tag` with this manifest. */
function packageWithPrebuild(name: string, tag: string, m: PrebuildManifest | string): string {
  const root = join(scratch, name);
  mkdirSync(join(root, 'prebuilds', tag), { recursive: true });
  writeFileSync(join(root, 'prebuilds', tag, 'prebuild.json'), typeof m === 'string' ? m : JSON.stringify(m));
  return root;
}

describe('prebuild matching', () => {
  it('names folders by platform, arch and libc', () => {
    expect(prebuildTag(linux)).toBe('linux-x64-glibc');
    expect(prebuildTag({ platform: 'darwin', arch: 'arm64', libc: null })).toBe('darwin-arm64');
  });

  it('compares glibc versions numerically', () => {
    expect(compareVersions('2.36', '2.34')).toBe(1);
    expect(compareVersions('2.9', '2.10')).toBe(-1);
    expect(compareVersions('2.34', '2.34.0')).toBe(0);
  });

  it('fits the same platform with enough Node-API and glibc, and says why otherwise', () => {
    expect(prebuildMismatch(manifest, linux)).toBeUndefined();
    expect(prebuildMismatch(manifest, { ...linux, libc: 'musl', glibcVersion: undefined })).toMatch(/built for linux-x64-glibc, this system is linux-x64-musl/);
    expect(prebuildMismatch(manifest, { ...linux, arch: 'arm64' })).toMatch(/linux-arm64-glibc/);
    expect(prebuildMismatch(manifest, { ...linux, napi: 7 })).toMatch(/needs Node-API 8, Node v20\.20\.2 offers 7/);
    expect(prebuildMismatch(manifest, { ...linux, glibcVersion: '2.31' })).toMatch(/needs glibc 2\.34 or later, this system has 2\.31/);
  });

  it('finds the folder for this platform and reports a missing or broken one', () => {
    const root = packageWithPrebuild('fits', 'linux-x64-glibc', manifest);
    const found = findPrebuild(root, linux);
    expect(found).toEqual({ path: join(root, 'prebuilds', 'linux-x64-glibc', 'ntk_sketch.node'), manifest });
    const arm = findPrebuild(root, { ...linux, arch: 'arm64' });
    expect('unfit' in arm && arm.unfit).toBe('the package carries no prebuilt addon for linux-arm64-glibc');
    const old = findPrebuild(root, { ...linux, glibcVersion: '2.28' });
    expect('unfit' in old && old.unfit).toMatch(/glibc 2\.34/);
    const broken = findPrebuild(packageWithPrebuild('broken', 'linux-x64-glibc', '{ not json'), linux);
    expect('unfit' in broken && broken.unfit).toMatch(/manifest .*prebuild\.json is unreadable/);
  });
});

describe('loading the addon', () => {
  const addon = { backends: () => ({}) };

  it('prefers a source build, falls back to the prebuild when the build is missing or fails', () => {
    const root = packageWithPrebuild('order', 'linux-x64-glibc', manifest);
    const candidates = addonCandidates({}, root, linux);
    const [cmake, , prebuild] = candidates.map((c) => c.path);
    expect(loadFirstAddon(candidates, () => addon, () => true, linux).path).toBe(cmake);
    expect(loadFirstAddon(candidates, () => addon, (p) => p === prebuild, linux).path).toBe(prebuild);
    const failingBuild = (p: string) => {
      if (p === cmake) throw new Error(`${p}: undefined symbol: cblas_dgemm`);
      return addon;
    };
    expect(loadFirstAddon(candidates, failingBuild, (p) => p === cmake || p === prebuild, linux).path).toBe(prebuild);
  });

  it('with no prebuild for the platform and no build, names each candidate and says what to install and run', () => {
    const musl: AddonPlatform = { platform: 'linux', arch: 'arm64', libc: 'musl', napi: 9, node: 'v20.20.2' };
    const root = packageWithPrebuild('nofit', 'linux-x64-glibc', manifest);
    const candidates = addonCandidates({}, root, musl);
    let loads = 0;
    const fail = () => loadFirstAddon(candidates, () => { loads++; return addon; }, () => false, musl);
    expect(fail).toThrow(Error);
    expect(loads).toBe(0);
    const message = (() => { try { fail(); } catch (e) { return (e as Error).message; } return ''; })();
    expect(message).toMatch(/no native addon could be loaded \(Node v20\.20\.2, linux-arm64-musl, Node-API 9\)/);
    expect(message).toContain(`source build (cmake-js) ${join(root, 'build-cmake', 'Release', 'ntk_sketch.node')}: not built`);
    expect(message).toContain(`source build (node-gyp) ${join(root, 'build', 'Release', 'ntk_sketch.node')}: not built`);
    expect(message).toMatch(/prebuilt addon .*: the package carries no prebuilt addon for linux-arm64-musl/);
    expect(message).toContain('apk add cmake make g++ openblas-dev');
    expect(message).toContain('npm rebuild ntk-sketch');
    expect(message).toContain('cd node_modules/ntk-sketch && npx cmake-js compile --out build-cmake');
  });

  it('reports a prebuild that fails to load with the reason and the Debian, Fedora and Homebrew packages', () => {
    const root = packageWithPrebuild('gone', 'linux-x64-glibc', manifest);
    const candidates = addonCandidates({}, root, linux);
    const prebuild = candidates[2].path;
    const load = (p: string) => { throw new Error(`${p}: libgfortran.so.5: cannot open shared object file: No such file or directory`); };
    let message = '';
    try { loadFirstAddon(candidates, load, (p) => p === prebuild, linux); } catch (e) { message = (e as Error).message; }
    expect(message).toContain(`prebuilt addon ${prebuild}: ntk-sketch: the native addon at ${prebuild} needs the shared library libgfortran.so.5`);
    expect(message).toContain('sudo apt-get install cmake g++ make libopenblas-dev');
    expect(message).toContain('sudo dnf install cmake gcc-c++ make openblas-devel');
    expect(buildFromSourceInstructions({ platform: 'darwin', libc: null })).toContain('brew install cmake libomp openblas');
  });

  it('an explicit NTK_SKETCH_ADDON that fails is reported alone, without trying the package', () => {
    const candidates: AddonCandidate[] = addonCandidates({ NTK_SKETCH_ADDON: '/opt/none/ntk_sketch.node' }, scratch, linux);
    let message = '';
    try { loadFirstAddon(candidates, () => addon, () => false, linux); } catch (e) { message = (e as Error).message; }
    expect(message).toContain('NTK_SKETCH_ADDON /opt/none/ntk_sketch.node: not built');
    expect(message).toContain('Unset NTK_SKETCH_ADDON');
    expect(message).not.toContain('prebuilt addon');
  });
});
