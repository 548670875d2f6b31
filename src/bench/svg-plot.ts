/**
 * A small dependency-free SVG line chart for benchmark reports: one line per
 * series, optional log scales (points that are not positive are left out on
 * a log axis), axis ticks and labels, a legend as wide as its longest name.
 * Enough for "error vs features, one line per map". Also grouped bars
 * (barChart) for "each format against a baseline".
 */
export interface Series {
  name: string;
  points: [number, number][];
  /** Dashed line (e.g. a reference level such as the exact kernel). */
  dashed?: boolean;
  /** CSS colour; default: the next colour of the palette. */
  color?: string;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
  /** Tick positions of the x axis (default: 1-2-5 steps, or for a log axis the powers of ten times 1, 2, 5). */
  xTicks?: number[];
}

// No grey: reports draw reference lines (fitted lines, baselines) in grey.
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#bcbd22', '#393b79', '#ad494a', '#637939', '#7b4173', '#e7ba52', '#3182bd', '#31a354', '#843c39', '#6b6ecf'];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
      }
    }
    return ticks;
  }
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const mult = [1, 2, 5, 10].find((m) => span / (m * step) <= 6) ?? 10;
  const s = mult * step;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-12 * span; v += s) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function format(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

/** Renders the series as an SVG document. */
export function lineChart(series: Series[], options: PlotOptions): string {
  const top = 40, bottom = 55;
  // Tall enough for the legend (18 px per series) beside the plot.
  const H = Math.max(options.height ?? 460, top + 20 + 18 * series.length);
  const usable = ([x, y]: [number, number]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logX || x > 0) && (!options.logY || y > 0);
  const longest = Math.max(0, ...series.map((s) => s.name.length));
  const W = (options.width ?? 720) + Math.max(0, longest * 7 + 60 - 170);
  const left = 70, right = Math.max(170, longest * 7 + 60);
  const pts = series.flatMap((s) => s.points).filter(usable);
  if (pts.length === 0) throw new RangeError('lineChart: no finite points');
  const tx = (v: number) => (options.logX ? Math.log10(v) : v);
  const ty = (v: number) => (options.logY ? Math.log10(v) : v);
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = options.logX ? [x0 / 2, x1 * 2] : [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = options.logY ? [y0 / 2, y1 * 2] : [y0 - 1, y1 + 1];
  // A margin of 5 % of the axis above and below, so that no point sits on the frame.
  if (!options.logY) {
    const pad = 0.05 * (y1 - y0);
    [y0, y1] = [y0 - pad, y1 + pad];
  } else {
    const pad = (y1 / y0) ** 0.05;
    [y0, y1] = [y0 / pad, y1 * pad];
  }
  const px = (v: number) => left + ((tx(v) - tx(x0)) / (tx(x1) - tx(x0))) * (W - left - right);
  const py = (v: number) => H - bottom - ((ty(v) - ty(y0)) / (ty(y1) - ty(y0))) * (H - top - bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${(left + W - right) / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`);
  const xTicks = options.xTicks ? [...new Set(options.xTicks)].filter((t) => t >= x0 && t <= x1) : niceTicks(x0, x1, !!options.logX);
  for (const t of xTicks) {
    out.push(`<line x1="${px(t)}" y1="${top}" x2="${px(t)}" y2="${H - bottom}" stroke="#eee"/>`);
    out.push(`<text x="${px(t)}" y="${H - bottom + 16}" text-anchor="middle">${format(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1, !!options.logY)) {
    out.push(`<line x1="${left}" y1="${py(t)}" x2="${W - right}" y2="${py(t)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${py(t) + 4}" text-anchor="end">${format(t)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(left + W - right) / 2}" y="${H - 15}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  out.push(`<text x="18" y="${(top + H - bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(top + H - bottom) / 2})">${escapeXml(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    // Past the palette, hues a golden angle apart: every series its own colour.
    const color = s.color ?? (i < COLORS.length ? COLORS[i] : `hsl(${Math.round((i * 137.5) % 360)}, 65%, 38%)`);
    const good = s.points.filter(usable).sort((a, b) => a[0] - b[0]);
    const d = good.map(([x, y], k) => `${k ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const [x, y] of good) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = top + 10 + i * 18;
    out.push(`<line x1="${W - right + 12}" y1="${ly}" x2="${W - right + 36}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${W - right + 42}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** One series of a bar chart: a bar per category, with an optional min – max whisker. */
export interface BarSeries {
  name: string;
  /** Value of each category (NaN or, on a log axis, not positive: no bar). */
  values: number[];
  /** [min, max] of each category, drawn as a whisker, or null. */
  ranges?: ([number, number] | null)[];
  color?: string;
}

export interface BarChartOptions {
  title: string;
  /** Label under the categories. */
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  width?: number;
  height?: number;
  /** A horizontal reference line (e.g. the baseline at ratio 1), drawn dashed and named in the legend. */
  reference?: { value: number; name: string };
}

/**
 * Renders grouped bars as an SVG document: one group per category, one bar
 * per series in each, whiskers for min – max, an optional dashed reference
 * line. On a log y axis the bars rise from the axis' lower end.
 */
export function barChart(categories: string[], series: BarSeries[], options: BarChartOptions): string {
  if (categories.length === 0 || series.length === 0) throw new RangeError('barChart: categories and series must not be empty');
  for (const s of series) {
    if (s.values.length !== categories.length) throw new RangeError(`barChart: series '${s.name}' has ${s.values.length} values for ${categories.length} categories`);
  }
  const logY = !!options.logY;
  const usable = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  const all = series.flatMap((s) => [...s.values, ...(s.ranges ?? []).flatMap((r) => r ?? [])]).filter(usable);
  if (options.reference && usable(options.reference.value)) all.push(options.reference.value);
  if (all.length === 0) throw new RangeError('barChart: no finite values');
  const names = [...series.map((s) => s.name), ...(options.reference ? [options.reference.name] : [])];
  const longest = Math.max(0, ...names.map((s) => s.length));
  const top = 40, bottom = 55, left = 70, right = Math.max(170, longest * 7 + 60);
  const H = Math.max(options.height ?? 460, top + 20 + 18 * names.length);
  const W = (options.width ?? 720) + Math.max(0, right - 170);
  let [y0, y1] = [Math.min(...all), Math.max(...all)];
  if (logY) {
    if (y0 === y1) [y0, y1] = [y0 / 2, y1 * 2];
    const pad = (y1 / y0) ** 0.08;
    [y0, y1] = [y0 / pad, y1 * pad];
  } else {
    // Bars start at zero.
    y0 = Math.min(0, y0);
    if (y0 === y1) y1 = y0 + 1;
    y1 += 0.05 * (y1 - y0);
  }
  const ty = (v: number) => (logY ? Math.log10(v) : v);
  const py = (v: number) => H - bottom - ((ty(v) - ty(y0)) / (ty(y1) - ty(y0))) * (H - top - bottom);
  const groupWidth = (W - left - right) / categories.length;
  const barWidth = (0.8 * groupWidth) / series.length;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${(left + W - right) / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`);
  for (const t of niceTicks(y0, y1, logY)) {
    out.push(`<line x1="${left}" y1="${py(t).toFixed(1)}" x2="${W - right}" y2="${py(t).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${format(t)}</text>`);
  }
  const base = py(logY ? y0 : 0);
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    s.values.forEach((v, c) => {
      const x = left + c * groupWidth + 0.1 * groupWidth + i * barWidth;
      if (usable(v)) {
        const yv = py(v);
        out.push(`<rect class="bar" x="${x.toFixed(1)}" y="${Math.min(yv, base).toFixed(1)}" width="${(barWidth * 0.9).toFixed(1)}" height="${Math.abs(base - yv).toFixed(1)}" fill="${color}"><title>${escapeXml(`${categories[c]}, ${s.name}: ${format(v)}`)}</title></rect>`);
      }
      const r = s.ranges?.[c];
      if (r && usable(r[0]) && usable(r[1])) {
        const cx = (x + barWidth * 0.45).toFixed(1), [a, b] = [py(r[0]).toFixed(1), py(r[1]).toFixed(1)];
        out.push(`<path d="M${cx},${a} L${cx},${b} M${(x + barWidth * 0.25).toFixed(1)},${a} L${(x + barWidth * 0.65).toFixed(1)},${a} M${(x + barWidth * 0.25).toFixed(1)},${b} L${(x + barWidth * 0.65).toFixed(1)},${b}" stroke="#333" stroke-width="1" fill="none"/>`);
      }
    });
    const ly = top + 10 + i * 18;
    out.push(`<rect x="${W - right + 12}" y="${ly - 6}" width="24" height="12" fill="${color}"/>`);
    out.push(`<text x="${W - right + 42}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  if (options.reference && usable(options.reference.value)) {
    const yr = py(options.reference.value).toFixed(1);
    out.push(`<line x1="${left}" y1="${yr}" x2="${W - right}" y2="${yr}" stroke="#555" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    const ly = top + 10 + series.length * 18;
    out.push(`<line x1="${W - right + 12}" y1="${ly}" x2="${W - right + 36}" y2="${ly}" stroke="#555" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${W - right + 42}" y="${ly + 4}">${escapeXml(options.reference.name)}</text>`);
  }
  categories.forEach((c, k) => {
    out.push(`<text x="${(left + (k + 0.5) * groupWidth).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${escapeXml(c)}</text>`);
  });
  out.push(`<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(left + W - right) / 2}" y="${H - 15}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  out.push(`<text x="18" y="${(top + H - bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(top + H - bottom) / 2})">${escapeXml(options.yLabel)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}
