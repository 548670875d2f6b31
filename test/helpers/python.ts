/**
 * A Python interpreter for the interoperability tests: the first of
 * $PYTHON, python3 and /usr/bin/python3 (Debian's, where python3-numpy and
 * python3-sklearn install) that imports the modules a test needs. Tests skip
 * with the reason when none does.
 */
import { spawnSync } from 'node:child_process';

const CANDIDATES = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));

/** The interpreter that imports every module in `modules`, or why there is none. */
export function findPython(modules: readonly string[]): { exe: string; missing: null } | { exe: null; missing: string } {
  const reasons: string[] = [];
  for (const exe of CANDIDATES) {
    const r = spawnSync(exe, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
    if (r.error) reasons.push(`${exe}: not found`);
    else if (r.status !== 0) reasons.push(`${exe}: ${r.stderr.trim().split('\n').pop()}`);
    else return { exe, missing: null };
  }
  return { exe: null, missing: `no Python with ${modules.join(', ')} (${reasons.join('; ')})` };
}

/** Runs `code` with `exe` (argv[1..] = args) and returns its stdout; throws with its stderr on failure. */
export function runPython(exe: string, code: string, ...args: string[]): string {
  const r = spawnSync(exe, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${exe} failed: ${r.stderr}`);
  return r.stdout;
}
