/**
 * Which prebuilt addon fits this process, and what to install when none does.
 *
 * The package carries prebuilt addons under `prebuilds/<platform>-<arch>[-<libc>]/`
 * (for example `prebuilds/linux-x64-glibc/`), each folder holding `ntk_sketch.node`,
 * the shared libraries it needs at run time and a `prebuild.json` manifest
 * ({@link PrebuildManifest}). The loader (core/native.ts) and the install script
 * (scripts/install.mjs) both use this module, so they agree on the choice.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a prebuilt addon has to match: OS, CPU, C library, Node-API level. */
export interface AddonPlatform {
  platform: string;
  arch: string;
  /** 'glibc' or 'musl' on Linux, null elsewhere. */
  libc: 'glibc' | 'musl' | null;
  /** The running glibc's version ('2.36'), when libc is glibc. */
  glibcVersion?: string;
  /** The highest Node-API version this Node offers. */
  napi: number;
  node: string;
}

/** prebuilds/<tag>/prebuild.json, written by scripts/prebuild.mjs. */
export interface PrebuildManifest {
  platform: string;
  arch: string;
  libc: 'glibc' | 'musl' | null;
  /** Node-API version the addon was compiled for (it loads on any Node offering it or later). */
  napi: number;
  /** Oldest glibc the addon and its libraries run on ('2.34'). */
  minGlibc?: string;
  /** The addon file, relative to the folder. */
  addon: string;
  /** The shared libraries shipped beside it. */
  libraries: string[];
  cuda: boolean;
  blas: string;
}

/** The process this code runs in. */
export function currentAddonPlatform(): AddonPlatform {
  let libc: AddonPlatform['libc'] = null;
  let glibcVersion: string | undefined;
  if (process.platform === 'linux') {
    // The report's header names the glibc the process runs on (absent under musl).
    // Its network section can resolve host names of open sockets: skip it.
    // (excludeNetwork is in Node 20.13+, not yet in @types/node 20.)
    const report = process.report as NodeJS.ProcessReport & { excludeNetwork?: boolean };
    const excludeNetwork = report.excludeNetwork;
    report.excludeNetwork = true;
    try {
      const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
      glibcVersion = header?.glibcVersionRuntime;
    } finally {
      report.excludeNetwork = excludeNetwork;
    }
    libc = glibcVersion ? 'glibc' : 'musl';
  }
  return {
    platform: process.platform,
    arch: process.arch,
    libc,
    glibcVersion,
    napi: Number(process.versions.napi ?? 0),
    node: process.version,
  };
}

/** The prebuilds/ folder name for a platform: `linux-x64-glibc`, `darwin-arm64`. */
export function prebuildTag(p: Pick<AddonPlatform, 'platform' | 'arch' | 'libc'>): string {
  return p.libc ? `${p.platform}-${p.arch}-${p.libc}` : `${p.platform}-${p.arch}`;
}

/** Compares dotted versions ('2.31' < '2.36'); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Why a prebuild cannot load here, or undefined when it fits. */
export function prebuildMismatch(manifest: PrebuildManifest, p: AddonPlatform): string | undefined {
  const tag = prebuildTag(manifest);
  if (tag !== prebuildTag(p)) return `it is built for ${tag}, this system is ${prebuildTag(p)}`;
  if (p.napi < manifest.napi) {
    return `it needs Node-API ${manifest.napi}, Node ${p.node} offers ${p.napi} (upgrade Node)`;
  }
  if (manifest.minGlibc && p.glibcVersion && compareVersions(p.glibcVersion, manifest.minGlibc) < 0) {
    return `it needs glibc ${manifest.minGlibc} or later, this system has ${p.glibcVersion}`;
  }
  return undefined;
}

/** A prebuilt addon's path for this platform, or why there is none that fits. */
export type PrebuildChoice = { path: string; manifest: PrebuildManifest } | { path: string; unfit: string };

/** Looks up prebuilds/<tag>/ under the package root for the platform given. */
export function findPrebuild(packageRoot: string, p: AddonPlatform = currentAddonPlatform()): PrebuildChoice {
  const dir = join(packageRoot, 'prebuilds', prebuildTag(p));
  const manifestPath = join(dir, 'prebuild.json');
  const path = join(dir, 'ntk_sketch.node');
  if (!existsSync(manifestPath)) {
    return { path, unfit: `the package carries no prebuilt addon for ${prebuildTag(p)}` };
  }
  let manifest: PrebuildManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PrebuildManifest;
  } catch (error) {
    return { path, unfit: `its manifest ${manifestPath} is unreadable (${(error as Error).message})` };
  }
  const addonPath = join(dir, manifest.addon ?? 'ntk_sketch.node');
  const unfit = prebuildMismatch(manifest, p);
  return unfit ? { path: addonPath, unfit } : { path: addonPath, manifest };
}

/**
 * What to install and run to build the addon from source on this platform,
 * from the user's project directory. The build needs cmake, a C++17 compiler
 * with OpenMP and OpenBLAS (CBLAS + LAPACK) with its headers.
 */
export function buildFromSourceInstructions(p: Pick<AddonPlatform, 'platform' | 'libc'>): string {
  const packages =
    p.platform === 'darwin'
      ? ['  macOS (Homebrew):  brew install cmake libomp openblas   (and xcode-select --install for the compiler)']
      : p.platform === 'win32'
        ? ['  Windows:  install CMake, Visual Studio Build Tools (C++ workload) and OpenBLAS (vcpkg install openblas lapack)']
        : p.libc === 'musl'
          ? ['  Alpine:  apk add cmake make g++ openblas-dev']
          : [
              '  Debian/Ubuntu:  sudo apt-get install cmake g++ make libopenblas-dev',
              '  Fedora/RHEL:    sudo dnf install cmake gcc-c++ make openblas-devel',
              '  Arch:           sudo pacman -S cmake gcc make openblas lapack',
            ];
  return [
    'To build it from source, install cmake, a C++17 compiler with OpenMP and OpenBLAS:',
    ...packages,
    'then, from your project directory, run:',
    '  npm rebuild ntk-sketch        (pnpm rebuild ntk-sketch / bun pm trust ntk-sketch)',
    'or build it by hand inside the package:',
    '  cd node_modules/ntk-sketch && npx cmake-js compile --out build-cmake',
  ].join('\n');
}
