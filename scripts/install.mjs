// The package's install script. An installed package uses the prebuilt addon
// for this platform when one ships and loads (nothing is compiled); otherwise,
// and in a development checkout (src/ present), it builds the addon from
// source with cmake-js into build-cmake/. NTK_SKETCH_BUILD_FROM_SOURCE=1
// forces the source build. Package managers that skip install scripts (pnpm,
// bun, --ignore-scripts) get the same prebuild: the loader finds it itself.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const platformModule = join(root, 'dist', 'core', 'addon-platform.js');

/** Why the prebuild is not used, or undefined after it loaded. */
async function tryPrebuild() {
  if (process.env.NTK_SKETCH_BUILD_FROM_SOURCE) return 'NTK_SKETCH_BUILD_FROM_SOURCE is set';
  if (existsSync(join(root, 'src'))) return 'this is a development checkout';
  if (!existsSync(platformModule)) return 'dist/ is missing';
  const { findPrebuild } = await import(platformModule);
  const prebuild = findPrebuild(root);
  if ('unfit' in prebuild) return `no prebuilt addon fits: ${prebuild.unfit}`;
  try {
    createRequire(import.meta.url)(prebuild.path).backends();
  } catch (error) {
    return `the prebuilt addon ${relative(root, prebuild.path)} does not load: ${error.message}`;
  }
  const m = prebuild.manifest;
  console.log(`ntk-sketch: using the prebuilt addon ${relative(root, prebuild.path)} ` +
    `(Node-API ${m.napi}, ${m.blas.split(' ').slice(0, 2).join(' ')}, CUDA ${m.cuda ? 'compiled in' : 'not compiled'}); nothing to compile`);
  return undefined;
}

const reason = await tryPrebuild();
if (reason !== undefined) {
  console.log(`ntk-sketch: building the native addon from source (${reason})`);
  const cmakeJs = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build-cmake'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    let help = 'Install cmake, a C++17 compiler with OpenMP and OpenBLAS, then run `npm rebuild ntk-sketch` from your project.';
    if (existsSync(platformModule)) {
      const { buildFromSourceInstructions, currentAddonPlatform } = await import(platformModule);
      help = buildFromSourceInstructions(currentAddonPlatform());
    }
    console.error(`ntk-sketch: the source build failed.\n${help}`);
    process.exit(r.status ?? 1);
  }
}
