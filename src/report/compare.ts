import { DIMENSION_NAMES, DIMENSIONS } from '../eval/benchmarks.ts';
import { mcnemarExact, type PairedTest, pairedBootstrap } from '../eval/stats.ts';
import { fmt, page } from './html.ts';
import type { RunMetrics } from './metrics.ts';
import { esc, groupedBarChart } from './svg.ts';

/**
 * Several runs side by side. For each benchmark entry present in the baseline (the first run) and another run, a
 * paired test on the items both runs answered (matched by item id): exact McNemar when the per-item values are
 * 0/1 correctness, else a paired bootstrap of the mean per-item value. The test is on the per-item metric named in
 * the entry (e.g. accuracy for POPE, hallucination-free caption for CHAIR), not on ratio headlines like F1.
 */

export interface CompareCell {
  value: number | null;
  low?: number | null;
  high?: number | null;
  test?: PairedTest & { metric: string; paired: number };
}

export interface CompareRow {
  id: string;
  title: string;
  dimension: string;
  headline: string;
  scale: number;
  lowerIsBetter: boolean;
  cells: CompareCell[];
}

export interface CompareResult {
  runs: Array<{ label: string; model: string; suite: string; created_at: string }>;
  rows: CompareRow[];
  /** e.g. runs scored on different benchmark files (then only shared item ids are paired) */
  warnings: string[];
}

export function compareRuns(
  runs: readonly RunMetrics[],
  labels: readonly string[],
  opts: { resamples?: number; seed?: number } = {},
): CompareResult {
  const ids: string[] = [];
  for (const r of runs) for (const e of r.benchmarks) if (!ids.includes(e.id)) ids.push(e.id);
  const rows: CompareRow[] = [];
  for (const id of ids) {
    const entries = runs.map((r) => r.benchmarks.find((e) => e.id === id));
    const first = entries.find((e) => e !== undefined);
    if (!first) continue;
    const base = entries[0];
    const cells: CompareCell[] = entries.map((e, i) => {
      if (!e) return { value: null };
      const cell: CompareCell = { value: e.headline.value, low: e.headline.ci?.low, high: e.headline.ci?.high };
      if (i > 0 && base?.items && e.items && base.items.metric === e.items.metric) {
        const bmap = new Map<string, number | null>();
        for (let j = 0; j < base.items.ids.length; j++) bmap.set(base.items.ids[j], base.items.values[j] ?? null);
        const a: number[] = [];
        const b: number[] = [];
        e.items.ids.forEach((k, j) => {
          const va = bmap.get(k);
          const vb = e.items?.values[j];
          if (va !== undefined && va !== null && vb !== undefined && vb !== null) {
            a.push(va);
            b.push(vb);
          }
        });
        if (a.length > 0) {
          const binary = [...a, ...b].every((v) => v === 0 || v === 1);
          const t = binary
            ? mcnemarExact(
                a.map((v) => v === 1),
                b.map((v) => v === 1),
              )
            : pairedBootstrap(
                a.length,
                (idx) => idx.reduce((s, k) => s + a[k], 0) / idx.length,
                (idx) => idx.reduce((s, k) => s + b[k], 0) / idx.length,
                { resamples: opts.resamples, seed: opts.seed },
              );
          cell.test = { ...t, metric: e.items.metric, paired: a.length };
        }
      }
      return cell;
    });
    rows.push({
      id,
      title: first.title,
      dimension: first.dimension,
      headline: first.headline.name,
      scale: first.headline.scale,
      lowerIsBetter: first.headline.lowerIsBetter ?? false,
      cells,
    });
  }
  const warnings: string[] = [];
  const fp = (r: RunMetrics) =>
    r.files
      .map((f) => f.sha256)
      .sort()
      .join(',');
  runs.forEach((r, i) => {
    if (i > 0 && fp(r) !== fp(runs[0]))
      warnings.push(
        `${labels[i]} was scored on different benchmark files than ${labels[0]}: only items with the same id are paired`,
      );
  });
  return {
    runs: runs.map((r, i) => ({ label: labels[i], model: r.model.id, suite: r.suite, created_at: r.created_at })),
    rows,
    warnings,
  };
}

function sig(p: number): string {
  return p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : 'n.s.';
}

export function renderCompareReport(c: CompareResult): string {
  const body: string[] = [];
  body.push(
    `<header><h1>Comparison of ${c.runs.length} runs</h1><p class="muted">baseline: ${esc(c.runs[0]?.label ?? '')}; paired tests against the baseline on shared items (McNemar exact for correctness, paired bootstrap otherwise); * p&lt;0.05, ** p&lt;0.01, *** p&lt;0.001</p></header>`,
  );
  body.push('<table><thead><tr><th>#</th><th>run</th><th>model</th><th>suite</th><th>created</th></tr></thead><tbody>');
  for (const [i, r] of c.runs.entries())
    body.push(
      `<tr><td>${i}</td><td>${esc(r.label)}</td><td>${esc(r.model)}</td><td>${esc(r.suite)}</td><td>${esc(r.created_at)}</td></tr>`,
    );
  body.push('</tbody></table>');
  if (c.warnings.length) body.push(`<ul class="warn">${c.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`);
  const series = c.runs.map((r) => r.label);
  for (const d of DIMENSION_NAMES) {
    const rows = c.rows.filter((r) => r.dimension === d);
    body.push(`<section class="dimension" id="dim-${d}"><h2>${esc(DIMENSIONS[d].title)}</h2>`);
    if (!rows.length) {
      body.push('<p class="empty">No benchmark of this dimension.</p></section>');
      continue;
    }
    body.push(
      groupedBarChart(
        rows.map((r) => ({ label: r.id, scale: r.scale, values: r.cells })),
        series,
        { title: `${DIMENSIONS[d].title}: headline by run` },
      ),
    );
    body.push('<table class="bench"><thead><tr><th>benchmark</th><th>headline</th>');
    for (const s of series) body.push(`<th>${esc(s)}</th>`);
    body.push('</tr></thead><tbody>');
    for (const r of rows) {
      body.push(
        `<tr><td>${esc(r.title)}<br><span class="muted">${esc(r.id)}</span></td><td>${esc(r.headline)}${r.lowerIsBetter ? ' ↓' : ''}</td>`,
      );
      r.cells.forEach((cell, i) => {
        let t = `${fmt(cell.value)}`;
        if (cell.low != null && cell.high != null)
          t += ` <span class="muted">[${fmt(cell.low)}, ${fmt(cell.high)}]</span>`;
        if (i > 0 && cell.test) {
          const better = cell.test.delta === 0 ? '' : cell.test.delta > 0 ? 'good' : 'bad';
          t += `<br><span class="${better}">Δ${esc(cell.test.metric)} ${cell.test.delta >= 0 ? '+' : ''}${fmt(cell.test.delta)}</span> p=${fmt(cell.test.pValue, 4)} ${sig(cell.test.pValue)} <span class="muted">(${cell.test.test}, n=${cell.test.paired})</span>`;
        }
        body.push(`<td class="num">${t}</td>`);
      });
      body.push('</tr>');
    }
    body.push('</tbody></table></section>');
  }
  return page('mmalign eval compare', body.join('\n'));
}
