// Ctrl-C and SIGTERM during a long transform or fit: the CLI stops at its
// next step, leaves nothing under the final names and no temporaries, and
// exits with 128 + the signal number and one line on stderr.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ntk-cli-interrupt-'));
const file = (name: string) => join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 40,000 rows of 32 columns and a target: minutes of work at 4,096 depth-3 features.
const n = 40_000, d = 32;
const lines = [`${Array.from({ length: d }, (_, j) => `x${j}`).join(',')},y`];
for (let i = 0; i < n; i++) {
  const row = Array.from({ length: d }, (_, j) => Math.sin(i * 0.37 + j * 1.3).toFixed(4));
  lines.push(`${row.join(',')},${Math.cos(i * 0.01).toFixed(4)}`);
}
writeFileSync(file('rows.csv'), `${lines.join('\n')}\n`);

/**
 * Runs the CLI, sends `signal` once `ready()` holds (polled), and resolves
 * with the exit code, stderr and the seconds from the signal to the exit.
 */
function interrupted(args: string[], signal: NodeJS.Signals, ready: () => boolean): Promise<{ code: number | null; stderr: string; seconds: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], { cwd: root });
    let stderr = '';
    let sentAt = 0;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const poll = setInterval(() => {
      if (sentAt === 0 && ready()) {
        sentAt = performance.now();
        child.kill(signal);
      }
    }, 50);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolvePromise({ code, stderr, seconds: sentAt ? (performance.now() - sentAt) / 1000 : NaN });
    });
  });
}

const others = () => readdirSync(dir).filter((f) => f !== 'rows.csv');
const map = ['--method', 'ntk-rf', '--features', '4096', '--depth', '3', '--seed', '1'];

describe('CLI interrupted by a signal', () => {
  it('transform, SIGINT once features are being written: exit 130, one line, no output and no temporary left', async () => {
    const r = await interrupted(
      ['transform', '--data', file('rows.csv'), '--target', 'y', ...map, '--out', file('features.npy')],
      'SIGINT',
      () => others().some((f) => f.startsWith('.features.npy.') && f.endsWith('.tmp')),
    );
    expect(r.stderr.trim().split('\n')).toEqual(['ntk-sketch: interrupted (SIGINT); no output written']);
    expect(r.code).toBe(130);
    expect(r.seconds).toBeLessThan(10);
    expect(others()).toEqual([]);
  }, 120_000);

  it('fit, SIGTERM while the batches stream: exit 143, one line, no model file', async () => {
    const started = Date.now();
    const r = await interrupted(
      ['fit', '--data', file('rows.csv'), '--target', 'y', ...map, '--lambda', '0.1', '--out', file('model.json')],
      'SIGTERM',
      () => Date.now() - started > 1500,
    );
    expect(r.stderr.trim().split('\n')).toEqual(['ntk-sketch: interrupted (SIGTERM); no output written']);
    expect(r.code).toBe(143);
    expect(others()).toEqual([]);
  }, 120_000);
});
