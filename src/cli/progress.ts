/**
 * Progress of long phases on stderr, drawn by cli-progress only on a
 * terminal (and never under --json): nothing but results reaches stdout.
 * Each phase shows its label, the share done, the rate and the time left
 * when its total is known; a phase of unknown length (a CSV file before its
 * end) shows what is done and the rate.
 */
import { performance } from 'node:perf_hooks';
import { SingleBar } from 'cli-progress';

export class Progress {
  private bar: SingleBar | null = null;
  private total = 0;
  private done = 0;
  private unit = '';
  private label = '';
  private started = 0;

  constructor(private readonly enabled: boolean) {}

  /** A new phase: `total` units of work (0 when unknown), counted in `unit` (shown with the rate; '' to hide it). */
  start(label: string, total: number, unit = ''): void {
    this.stop();
    this.label = label;
    this.total = total;
    this.done = 0;
    this.unit = unit;
    this.started = performance.now();
    if (!this.enabled) return;
    const counts = unit ? ` | {value}${total > 0 ? '/{total}' : ''} ${unit} | {rate} ${unit}/s` : '';
    const format = total > 0 ? `{bar} {percentage}% | {label}${counts} | {eta_formatted} left` : `{label}${counts} | {duration_formatted}`;
    this.bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50, barsize: 24, fps: 8 });
    this.bar.start(Math.max(total, 1), 0, this.payload());
  }

  advance(amount: number): void {
    this.done += amount;
    this.bar?.update(this.done, this.payload());
  }

  /** Changes the label of the current phase. */
  note(label: string): void {
    if (!this.bar) return this.start(label, 0);
    this.label = label;
    this.bar.update(this.done, this.payload());
  }

  clear(): void {
    this.stop();
  }

  private stop(): void {
    this.bar?.stop();
    this.bar = null;
  }

  private payload(): { label: string; rate: string } {
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    return { label: this.label, rate: rate >= 100 ? rate.toFixed(0) : rate.toPrecision(3) };
  }
}
