// Checks what `npm pack` publishes (npm run pack:check, after npm run build:prebuild):
// 1. the tarball's contents: only the declared files, the prebuilt addon and
//    its libraries present, no tests, build folders or sources of other things;
//    its size;
// 2. a fresh directory installs the tarball with --ignore-scripts and with no
//    cmake, C/C++ compiler or make on PATH (a PATH holding only node and npm);
// 3. there, an exact NTK and an NTKSketch transform equal, bit for bit, the
//    ones this checkout's source build computes (scripts/pack-check-compute.mjs).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { currentAddonPlatform, prebuildTag } = await import(join(root, 'dist', 'core', 'addon-platform.js'));
const tag = prebuildTag(currentAddonPlatform());
const manifestPath = join(root, 'prebuilds', tag, 'prebuild.json');
if (!existsSync(manifestPath)) throw new Error(`prebuilds/${tag}/prebuild.json is missing: run \`npm run build:prebuild\` first`);
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const keepScratch = process.argv.includes('--keep');
const scratch = mkdtempSync(join(tmpdir(), 'ntk-sketch-pack-'));
const failures = [];
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

// --- 1. contents ---------------------------------------------------------------
const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }))[0];
const tarball = join(scratch, packed.filename);
const paths = packed.files.map((f) => f.path);
const allowedTop = new Set([...pkg.files.map((f) => f.split('/')[0]), 'package.json', 'README.md', 'LICENSE']);
for (const p of paths) {
  const top = p.split('/')[0];
  if (!allowedTop.has(top)) failures.push(`unexpected file in the package: ${p}`);
  // The repository's own folders (dist/bench, the compiled benchmark tool, does ship).
  if (/^(test|tests|bench|src|build|build-cmake|build-prebuild|build-sanitize|\.ci)\//.test(p) || /(^|\/)node_modules\//.test(p)) failures.push(`the package must not carry ${p}`);
  if (/\.(tgz|log)$/.test(p)) failures.push(`stray file in the package: ${p}`);
}
if (paths.some((p) => p.startsWith('scripts/') && p !== 'scripts/install.mjs')) failures.push('only scripts/install.mjs of scripts/ belongs in the package');
const required = ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/bench/run.js', 'docs/api/README.md', 'scripts/install.mjs',
  'CMakeLists.txt', 'native/sources.json', `prebuilds/${tag}/prebuild.json`, `prebuilds/${tag}/ntk_sketch.node`,
  ...manifest.libraries.map((l) => `prebuilds/${tag}/${l}`)];
for (const r of required) if (!paths.includes(r)) failures.push(`the package lacks ${r}`);
const byTop = new Map();
for (const f of packed.files) {
  const top = f.path.includes('/') ? `${f.path.split('/')[0]}/` : f.path;
  const e = byTop.get(top) ?? { files: 0, bytes: 0 };
  e.files++; e.bytes += f.size;
  byTop.set(top, e);
}
console.log(`== npm pack: ${packed.filename}, ${mib(packed.size)} packed, ${mib(packed.unpackedSize)} unpacked, ${packed.entryCount} files ==`);
for (const [top, e] of [...byTop].sort((a, b) => b[1].bytes - a[1].bytes)) console.log(`  ${top.padEnd(16)} ${String(e.files).padStart(4)} files ${mib(e.bytes).padStart(10)}`);

// --- 2. install with no toolchain and no scripts -----------------------------------
const bin = join(scratch, 'bin');
mkdirSync(bin);
symlinkSync(process.execPath, join(bin, 'node'));
symlinkSync(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()), join(bin, 'npm'));
const env = { ...process.env, PATH: bin, npm_config_update_notifier: 'false' };
for (const key of Object.keys(env)) if (key.startsWith('npm_') && key !== 'npm_config_update_notifier' && key !== 'npm_config_cache') delete env[key];
delete env.NTK_SKETCH_ADDON;
delete env.LD_LIBRARY_PATH;
for (const tool of ['cmake', 'g++', 'c++', 'cc', 'gcc', 'make', 'nvcc']) {
  if (env.PATH.split(delimiter).some((dir) => existsSync(join(dir, tool)))) failures.push(`${tool} is on the install PATH`);
}
const project = join(scratch, 'project');
mkdirSync(project);
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'pack-check-project', private: true, type: 'module' }));
const started = process.hrtime.bigint();
const install = spawnSync(join(bin, 'npm'), ['install', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: project, env, encoding: 'utf8' });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`== npm install --ignore-scripts of the tarball, PATH=<node, npm only>: ${seconds.toFixed(1)} s, exit ${install.status} ==`);
process.stdout.write(install.stdout);
if (install.status !== 0) {
  process.stderr.write(install.stderr);
  failures.push('npm install of the tarball failed');
}

// --- 3. the same numbers as the source build ----------------------------------------
function compute(cwd, runEnv) {
  const r = spawnSync(process.execPath, ['pack-check-compute.mjs'], { cwd, env: runEnv, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pack-check-compute.mjs failed in ${cwd}:\n${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
if (install.status === 0) {
  copyFileSync(join(root, 'scripts', 'pack-check-compute.mjs'), join(project, 'pack-check-compute.mjs'));
  const installed = compute(project, env);
  const reference = compute(join(root, 'scripts'), { ...process.env, NTK_SKETCH_ADDON: join(root, 'build-cmake', 'Release', 'ntk_sketch.node') });
  console.log(`== source build (${reference.addon.slice(root.length + 1)}) vs installed package (${installed.addon.slice(project.length + 1)}) ==`);
  console.log(`  exact NTK  ${reference.ntk} ${installed.ntk === reference.ntk ? '==' : '!='} ${installed.ntk}`);
  console.log(`  NTKSketch  ${reference.ntkSketch} ${installed.ntkSketch === reference.ntkSketch ? '==' : '!='} ${installed.ntkSketch}`);
  if (!installed.addon.endsWith(`node_modules/ntk-sketch/prebuilds/${tag}/ntk_sketch.node`)) failures.push(`the installed package ran ${installed.addon}, not its prebuilt addon`);
  if (dirname(installed.openblas ?? '') !== dirname(installed.addon)) failures.push(`the prebuilt addon ran ${installed.openblas}, not the OpenBLAS shipped beside it`);
  if (installed.ntk !== reference.ntk) failures.push('the exact NTK differs from the source build');
  if (installed.ntkSketch !== reference.ntkSketch) failures.push('the NTKSketch features differ from the source build');
}

if (keepScratch) console.log(`kept ${scratch}`);
else rmSync(scratch, { recursive: true, force: true });
if (failures.length) {
  console.error(`pack check FAILED:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('pack check passed');
