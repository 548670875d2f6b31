// Builds the prebuilt addon shipped in the package (npm run build:prebuild):
// the addon compiled with cmake-js into build-prebuild/ (CUDA included when
// nvcc is present, the runtime linked statically), linked to look for its
// libraries in its own folder ($ORIGIN), then gathered with the shared
// libraries it needs that a bare glibc system lacks (OpenBLAS, gfortran,
// quadmath, OpenMP) into prebuilds/<platform>-<arch>-<libc>/ with a manifest.
// Extra arguments go to cmake-js (for example --CDNTK_SKETCH_CUDA=OFF).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { compareVersions, currentAddonPlatform, prebuildTag } = await import(join(root, 'dist', 'core', 'addon-platform.js'));
const napi = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).binary.napi_versions[0];

/** Libraries every glibc Linux that runs Node has: never shipped. */
const SYSTEM_LIBRARY = /^(linux-vdso|ld-linux[\w-]*|libc|libm|libmvec|libdl|libpthread|librt|libutil|libgcc_s)\.so/;

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

/** [soname, resolved path] of every library ldd lists for a file; throws on one not found. */
function sharedLibraries(file) {
  const out = execFileSync('ldd', [file], { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: '' } });
  const libs = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(\S+)/.exec(line);
    if (!m) continue;
    if (m[2] === 'not') throw new Error(`${file} needs ${m[1]}, which is not found:\n${out}`);
    libs.push([m[1], m[2]]);
  }
  return libs;
}

/** The newest GLIBC_ and GLIBCXX_ symbol versions a file asks for. */
function newestVersions(file) {
  const text = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const newest = {};
  for (const [, kind, version] of text.matchAll(/\b(GLIBC|GLIBCXX)_(\d+(?:\.\d+)*)\b/g)) {
    if (!newest[kind] || compareVersions(version, newest[kind]) > 0) newest[kind] = version;
  }
  return newest;
}

const platform = currentAddonPlatform();
if (platform.platform !== 'linux') throw new Error(`build:prebuild gathers ELF libraries and runs on Linux only, not ${platform.platform}`);
const tag = prebuildTag(platform);
const buildDir = join(root, 'build-prebuild');
const outDir = join(root, 'prebuilds', tag);

run(process.execPath, [join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js'), 'compile', '--out', buildDir,
  '--CDNTK_SKETCH_PREBUILD=ON', ...process.argv.slice(2)]);
const built = join(buildDir, 'Release', 'ntk_sketch.node');
const dynamic = execFileSync('readelf', ['-d', built], { encoding: 'utf8' });
if (!/\(RPATH\)\s+Library rpath: \[\$ORIGIN\]/.test(dynamic)) {
  throw new Error(`${built} lacks RPATH $ORIGIN (was it configured with NTK_SKETCH_PREBUILD=ON?):\n${dynamic}`);
}
if (/libstdc\+\+/.test(dynamic)) throw new Error(`${built} links libstdc++ dynamically; the prebuild links it statically`);

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
copyFileSync(built, join(outDir, 'ntk_sketch.node'));
const libraries = [];
for (const [soname, path] of sharedLibraries(built)) {
  if (SYSTEM_LIBRARY.test(soname)) continue;
  copyFileSync(realpathSync(path), join(outDir, soname));
  libraries.push(soname);
}

// The gathered folder must resolve every library it ships to itself.
const shipped = join(outDir, 'ntk_sketch.node');
for (const [soname, path] of sharedLibraries(shipped)) {
  if (!SYSTEM_LIBRARY.test(soname) && dirname(path) !== outDir) throw new Error(`${shipped}: ${soname} resolves to ${path}, not beside the addon`);
}
let minGlibc = '0';
let glibcxx = null;
for (const file of ['ntk_sketch.node', ...libraries]) {
  const v = newestVersions(join(outDir, file));
  if (v.GLIBC && compareVersions(v.GLIBC, minGlibc) > 0) minGlibc = v.GLIBC;
  if (v.GLIBCXX) glibcxx = v.GLIBCXX;
}
if (glibcxx) throw new Error(`the prebuild asks for GLIBCXX_${glibcxx}: libstdc++ must be linked statically`);

// Load it in a fresh process, away from any source build.
const probe = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(shipped)}); const b = a.backends(); console.log(JSON.stringify({ blas: b.cpu.blas, cuda: b.cuda.compiled }))`],
  { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: '' } });
if (probe.status !== 0) throw new Error(`the prebuilt addon does not load:\n${probe.stderr}`);
const info = JSON.parse(probe.stdout.trim());

const manifest = {
  platform: platform.platform,
  arch: platform.arch,
  libc: platform.libc,
  napi,
  minGlibc,
  addon: 'ntk_sketch.node',
  libraries,
  cuda: info.cuda,
  blas: info.blas,
};
writeFileSync(join(outDir, 'prebuild.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const bytes = ['ntk_sketch.node', ...libraries].reduce((s, f) => s + statSync(join(outDir, f)).size, 0);
console.log(`prebuilds/${tag}: ntk_sketch.node + ${libraries.join(', ')} (${(bytes / 2 ** 20).toFixed(1)} MiB), ` +
  `glibc >= ${minGlibc}, no GLIBCXX (libstdc++ static), Node-API ${napi}, CUDA ${info.cuda ? 'compiled' : 'not compiled'}, ${info.blas}`);
