import { describe, expect, it } from 'vitest';
import { barChart, lineChart } from '../../src/bench/svg-plot.js';

/** The y coordinates of the points drawn, and the frame's top and bottom. */
function layout(svg: string): { ys: number[]; top: number; bottom: number } {
  const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
  const frame = /<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="none"/.exec(svg)!;
  return { ys, top: Number(frame[1]), bottom: Number(frame[1]) + Number(frame[2]) };
}

describe('lineChart', () => {
  it.each([false, true])('keeps the lowest and highest points off the frame (log y: %s)', (logY) => {
    const svg = lineChart([{ name: 'a', points: [[1, 0.005], [2, 0.02]] }, { name: 'b', points: [[1, 0.1], [2, 0.3]] }], { title: 't', xLabel: 'x', yLabel: 'y', logY });
    const { ys, top, bottom } = layout(svg);
    expect(ys).toHaveLength(4);
    for (const y of ys) {
      expect(y).toBeGreaterThan(top + 5);
      expect(y).toBeLessThan(bottom - 5);
    }
  });

  it('gives each of 30 series its own colour and a legend line inside the picture', () => {
    const series = Array.from({ length: 30 }, (_, i) => ({ name: `s${i}`, points: [[1, i + 1], [2, i + 2]] as [number, number][] }));
    const svg = lineChart(series, { title: 't', xLabel: 'x', yLabel: 'y' });
    const colours = [...svg.matchAll(/<path d="[^"]*" fill="none" stroke="([^"]+)"/g)].map((m) => m[1]);
    expect(colours).toHaveLength(30);
    expect(new Set(colours).size).toBe(30);
    const height = Number(/<svg [^>]*height="(\d+)"/.exec(svg)![1]);
    const legendYs = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)">s\d+<\/text>/g)].map((m) => Number(m[1]));
    expect(legendYs).toHaveLength(30);
    expect(Math.max(...legendYs)).toBeLessThan(height);
  });
});

describe('barChart', () => {
  it.each([false, true])('draws taller bars for larger values, inside the frame, with the reference line between them (log y: %s)', (logY) => {
    const svg = barChart(['a', 'b'], [{ name: 's', values: [0.1, 4], ranges: [[0.05, 0.2], [3, 5]] }], { title: 't', xLabel: 'x', yLabel: 'y', logY, reference: { value: 1, name: 'one' } });
    const bars = [...svg.matchAll(/<rect class="bar" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)].map((m) => ({ y: Number(m[1]), h: Number(m[2]) }));
    const frame = /<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="none"/.exec(svg)!;
    const [top, bottom] = [Number(frame[1]), Number(frame[1]) + Number(frame[2])];
    expect(bars).toHaveLength(2);
    expect(bars[1].h).toBeGreaterThan(bars[0].h);
    for (const b of bars) {
      expect(b.y).toBeGreaterThan(top);
      expect(b.y + b.h).toBeCloseTo(bottom, 0);
    }
    const ref = Number(/<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="[\d.]+" stroke="#555"/.exec(svg)![1]);
    expect(ref).toBeGreaterThan(bars[1].y);
    expect(ref).toBeLessThan(bars[0].y);
  });

  it('refuses a series whose values do not match the categories', () => {
    expect(() => barChart(['a', 'b'], [{ name: 's', values: [1] }], { title: 't', xLabel: 'x', yLabel: 'y' })).toThrow(/series 's' has 1 values for 2 categories/);
  });
});
