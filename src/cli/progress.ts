/**
 * Progress of long phases on stderr, drawn only on a terminal (and never
 * under --json): nothing but results reaches stdout.
 */
import { performance } from 'node:perf_hooks';

/** A one-line progress bar on stderr (drawn only when enabled). */
export class Progress {
  private total = 0;
  private done = 0;
  private label = '';
  private lastDraw = 0;
  constructor(private readonly enabled: boolean) {}

  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.done = 0;
    this.lastDraw = 0;
    this.draw(true);
  }
  advance(amount: number): void {
    this.done += amount;
    this.draw(false);
  }
  note(label: string): void {
    this.label = label;
    this.draw(true);
  }
  clear(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
  private draw(force: boolean): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 80 && this.done < this.total) return;
    this.lastDraw = now;
    if (this.total === 0) {
      process.stderr.write(`\r\x1b[K${this.label}...`);
      return;
    }
    const width = 30;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const filled = Math.round(frac * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    process.stderr.write(`\r\x1b[K[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${this.label}`);
  }
}

