/**
 * Inline SVG charts for the reports (no scripts, no network): horizontal bars with confidence whiskers, and
 * grouped bars for comparing runs. Values are drawn as a share of each figure's own scale.
 */

export interface Bar {
  label: string;
  value: number | null;
  low?: number | null;
  high?: number | null;
  scale: number;
  /** shown after the bar */
  text: string;
  lowerIsBetter?: boolean;
}

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const PALETTE = ['#3b6ea5', '#d9822b', '#3d9970', '#b84a62', '#7d5ba6', '#8c8c3a', '#2b9bb3', '#a0522d'];
export const color = (i: number): string => PALETTE[i % PALETTE.length];

const clamp01 = (x: number) => Math.max(0, Math.min(1, x));

/** Horizontal bar chart; one row per bar. */
export function barChart(bars: readonly Bar[], opts: { title: string; width?: number } = { title: '' }): string {
  // label and value columns grow to fit their longest text (12 px sans: about 7 px a character), so nothing is cut
  // at the SVG's edges; the plot keeps at least 240 px
  const columnWidth = (texts: string[], min: number) =>
    Math.max(min, Math.ceil(Math.max(0, ...texts.map((t) => t.length)) * 7) + 12);
  const labelW = columnWidth(
    bars.map((b) => b.label),
    190,
  );
  const textW = columnWidth(
    bars.map((b) => b.text),
    150,
  );
  const W = Math.max(opts.width ?? 640, labelW + textW + 240);
  const plotW = W - labelW - textW;
  const rowH = 26;
  const top = 26;
  const H = top + bars.length * rowH + 22;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
  );
  parts.push(`<title>${esc(opts.title)}</title>`);
  parts.push(`<text x="0" y="16" class="ct">${esc(opts.title)}</text>`);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelW + t * plotW;
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${H - 18}" class="grid"/>`);
    parts.push(`<text x="${x}" y="${H - 4}" class="tick" text-anchor="middle">${Math.round(t * 100)}%</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end" class="lbl">${esc(b.label)}</text>`);
    if (b.value !== null && Number.isFinite(b.value)) {
      const w = clamp01(b.value / b.scale) * plotW;
      parts.push(
        `<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${b.lowerIsBetter ? '#b84a62' : '#3b6ea5'}" class="bar"/>`,
      );
      if (b.low != null && b.high != null) {
        const x1 = labelW + clamp01(b.low / b.scale) * plotW;
        const x2 = labelW + clamp01(b.high / b.scale) * plotW;
        const cy = y + rowH / 2 - 1;
        parts.push(
          `<path d="M${x1.toFixed(1)} ${cy}H${x2.toFixed(1)}M${x1.toFixed(1)} ${cy - 5}v10M${x2.toFixed(1)} ${cy - 5}v10" class="ci"/>`,
        );
      }
    } else {
      parts.push(`<text x="${labelW + 4}" y="${y + 16}" class="na">n/a</text>`);
    }
    parts.push(`<text x="${labelW + plotW + 8}" y="${y + 16}" class="val">${esc(b.text)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface Group {
  label: string;
  values: Array<{ value: number | null; low?: number | null; high?: number | null }>;
  scale: number;
}

/** Grouped horizontal bars: one group per benchmark, one bar per run (colours = runs, legend on top). */
export function groupedBarChart(
  groups: readonly Group[],
  series: readonly string[],
  opts: { title: string; width?: number },
): string {
  const W = opts.width ?? 720;
  const labelW = 190;
  const plotW = W - labelW - 40;
  const barH = 12;
  const gap = 10;
  const legendH = 18 * Math.ceil(series.length / 3);
  const top = 26 + legendH;
  const groupH = series.length * barH + gap;
  const H = top + groups.length * groupH + 22;
  const p: string[] = [];
  p.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
  );
  p.push(`<title>${esc(opts.title)}</title><text x="0" y="16" class="ct">${esc(opts.title)}</text>`);
  series.forEach((s, i) => {
    const x = (i % 3) * 230;
    const y = 24 + Math.floor(i / 3) * 18;
    p.push(
      `<rect x="${x}" y="${y}" width="12" height="12" fill="${color(i)}"/><text x="${x + 16}" y="${y + 11}" class="lbl">${esc(s)}</text>`,
    );
  });
  for (const t of [0, 0.5, 1]) {
    const x = labelW + t * plotW;
    p.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${H - 18}" class="grid"/><text x="${x}" y="${H - 4}" class="tick" text-anchor="middle">${Math.round(t * 100)}%</text>`,
    );
  }
  groups.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    p.push(
      `<text x="${labelW - 8}" y="${y0 + (series.length * barH) / 2 + 4}" text-anchor="end" class="lbl">${esc(g.label)}</text>`,
    );
    g.values.forEach((v, si) => {
      const y = y0 + si * barH;
      if (v.value === null || !Number.isFinite(v.value)) return;
      p.push(
        `<rect x="${labelW}" y="${y}" width="${(clamp01(v.value / g.scale) * plotW).toFixed(1)}" height="${barH - 2}" fill="${color(si)}" class="bar"/>`,
      );
      if (v.low != null && v.high != null) {
        const x1 = labelW + clamp01(v.low / g.scale) * plotW;
        const x2 = labelW + clamp01(v.high / g.scale) * plotW;
        p.push(`<path d="M${x1.toFixed(1)} ${y + barH / 2 - 1}H${x2.toFixed(1)}" class="ci"/>`);
      }
    });
  });
  p.push('</svg>');
  return p.join('');
}

export interface SpreadRow {
  label: string;
  /** one value per seed (null where the seed has none) */
  values: readonly (number | null)[];
  mean: number | null;
  low?: number | null;
  high?: number | null;
}

/**
 * Seed spread: one row per method, a dot per seed (labelled with its seed) and the mean over seeds as a bar tick with
 * its interval. The axis runs from 0 to `scale` (a rate: 0–1).
 */
export function seedSpreadChart(
  rows: readonly SpreadRow[],
  seeds: readonly number[],
  opts: { title: string; scale?: number; width?: number },
): string {
  const W = opts.width ?? 640;
  const labelW = 210;
  const plotW = W - labelW - 70;
  const rowH = 24;
  const top = 28;
  const H = top + rows.length * rowH + 22;
  const scale =
    opts.scale ??
    Math.max(1e-9, ...rows.flatMap((r) => [...r.values, r.high ?? null].filter((v): v is number => v != null)));
  const x = (v: number) => labelW + clamp01(v / scale) * plotW;
  const p: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart spread" role="img" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<title>${esc(opts.title)}</title><text x="0" y="16" class="ct">${esc(opts.title)}</text>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const gx = labelW + t * plotW;
    p.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${H - 18}" class="grid"/><text x="${gx}" y="${H - 4}" class="tick" text-anchor="middle">${(t * scale).toFixed(scale >= 1 ? 2 : 3)}</text>`,
    );
  }
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    p.push(`<text x="${labelW - 8}" y="${cy + 4}" text-anchor="end" class="lbl">${esc(r.label)}</text>`);
    if (r.low != null && r.high != null)
      p.push(`<path d="M${x(r.low).toFixed(1)} ${cy}H${x(r.high).toFixed(1)}" class="ci"/>`);
    if (r.mean != null)
      p.push(
        `<rect x="${(x(r.mean) - 1.5).toFixed(1)}" y="${cy - 8}" width="3" height="16" fill="#111" class="mean"/>`,
      );
    r.values.forEach((v, s) => {
      if (v == null) return;
      p.push(
        `<circle cx="${x(v).toFixed(1)}" cy="${cy}" r="4" fill="${color(s)}" fill-opacity="0.8" class="seed"><title>seed ${seeds[s]}: ${v.toFixed(3)}</title></circle>`,
      );
    });
    if (r.mean != null) p.push(`<text x="${labelW + plotW + 8}" y="${cy + 4}" class="val">${r.mean.toFixed(3)}</text>`);
  });
  p.push('</svg>');
  return p.join('');
}
