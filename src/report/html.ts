import { DIMENSION_NAMES, DIMENSIONS } from '../eval/benchmarks.ts';
import type { BenchmarkEntry, RunMetrics } from './metrics.ts';
import { type Bar, barChart, esc } from './svg.ts';

/**
 * report.html as a pure function of metrics.json: one self-contained page (inline CSS and SVG, no script, no
 * network), grouped by the survey's six evaluation dimensions, every headline with its bootstrap interval and the
 * anti-gaming figures beside it, and the reproducibility block (files + sha256, rules, judge, decoding, seeds).
 */

export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1080px;color:#1d232a;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 4px;border-bottom:2px solid #dfe3e8;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#68717a}.blurb{color:#68717a;margin:0 0 8px}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}th,td{border:1px solid #dfe3e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:12px ui-monospace,Menlo,monospace;background:#f3f5f7;padding:1px 4px;border-radius:3px;word-break:break-all}
.chart{display:block;margin:6px 0 14px;max-width:100%}.chart .ct{font-weight:600;font-size:13px}
.chart .lbl,.chart .val{font-size:12px;fill:#1d232a}.chart .tick{font-size:10px;fill:#68717a}.chart .grid{stroke:#e6e9ec}
.chart .ci{stroke:#111;stroke-width:1.5;fill:none}.chart .na{font-size:12px;fill:#999}
.warn{color:#9a3b00}.good{color:#1d6b3a}.bad{color:#a11c2f}.kv td:first-child{width:220px;color:#4a535c}
.empty{color:#999;font-style:italic}
`;

export function fmt(v: unknown, digits = 3): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(digits);
  }
  return String(v);
}

function ciText(e: BenchmarkEntry): string {
  const ci = e.headline.ci;
  return ci ? `[${fmt(ci.low)}, ${fmt(ci.high)}]` : '';
}

/** Guards below a fair level get flagged: broken or empty output must never look like low hallucination. */
function guardCell(name: string, v: number | null): string {
  const low =
    v !== null && (name === 'parse_rate' || name === 'recall' || name === 'cover') && v < (name === 'cover' ? 50 : 0.5);
  return `<td class="num${low ? ' warn' : ''}" title="${esc(name)}">${fmt(v)}${low ? ' ⚠' : ''}</td>`;
}

export function benchmarkBars(entries: readonly BenchmarkEntry[]): Bar[] {
  return entries.map((e) => ({
    label: e.id,
    value: e.headline.value,
    low: e.headline.ci?.low,
    high: e.headline.ci?.high,
    scale: e.headline.scale,
    lowerIsBetter: e.headline.lowerIsBetter,
    text: `${fmt(e.headline.value)} ${e.headline.name}${e.headline.lowerIsBetter ? ' ↓' : ''}`.slice(0, 24),
  }));
}

function dimensionSection(dim: (typeof DIMENSION_NAMES)[number], entries: readonly BenchmarkEntry[]): string {
  const d = DIMENSIONS[dim];
  const out: string[] = [
    `<section class="dimension" id="dim-${dim}"><h2>${esc(d.title)}</h2><p class="blurb">${esc(d.blurb)}</p>`,
  ];
  if (entries.length === 0) {
    out.push('<p class="empty">No benchmark of this dimension in this run.</p></section>');
    return out.join('');
  }
  out.push(barChart(benchmarkBars(entries), { title: `${d.title}: headline figures (95% bootstrap CI)` }));
  const guardNames = [...new Set(entries.flatMap((e) => Object.keys(e.guards)))];
  out.push(
    '<table class="bench"><thead><tr><th>benchmark</th><th>rule</th><th>headline</th><th>value</th><th>95% CI</th>',
  );
  for (const g of guardNames) out.push(`<th>${esc(g)}</th>`);
  out.push('<th>n</th></tr></thead><tbody>');
  for (const e of entries) {
    out.push(
      `<tr><td>${esc(e.title)}<br><span class="muted">${esc(e.id)}</span></td><td><code>${esc(e.rule)}</code></td>`,
    );
    out.push(
      `<td>${esc(e.headline.name)}${e.headline.lowerIsBetter ? ' (lower is better)' : ''}</td><td class="num">${fmt(e.headline.value)}</td><td class="num">${ciText(e)}</td>`,
    );
    for (const g of guardNames) out.push(g in e.guards ? guardCell(g, e.guards[g]) : '<td></td>');
    out.push(`<td class="num">${e.n}</td></tr>`);
  }
  out.push('</tbody></table>');
  for (const e of entries) {
    const scalars = Object.entries(e.metrics).filter(
      ([, v]) => v === null || typeof v === 'number' || typeof v === 'string',
    );
    out.push(`<details><summary>${esc(e.id)}: all figures</summary><table class="kv"><tbody>`);
    for (const [k, v] of scalars) out.push(`<tr><td>${esc(k)}</td><td class="num">${esc(fmt(v, 4))}</td></tr>`);
    out.push('</tbody></table>');
    if (e.note) out.push(`<p class="muted">${esc(e.note)}</p>`);
    out.push('</details>');
  }
  out.push('</section>');
  return out.join('');
}

function reproSection(m: RunMetrics): string {
  const o: string[] = ['<section id="repro"><h2>Reproducibility</h2><table class="kv"><tbody>'];
  o.push(`<tr><td>mmalign version</td><td>${esc(m.mmalign_version)}</td></tr>`);
  o.push(`<tr><td>created</td><td>${esc(m.created_at)}</td></tr>`);
  o.push(`<tr><td>model</td><td><code>${esc(m.model.spec)}</code> (${esc(m.model.id)})</td></tr>`);
  if (m.judge) {
    o.push(`<tr><td>judge</td><td><code>${esc(m.judge.spec)}</code> (${esc(m.judge.id)})</td></tr>`);
    for (const [k, h] of Object.entries(m.judge.prompts))
      o.push(`<tr><td>judge prompt ${esc(k)}</td><td><code>sha256 ${esc(h)}</code></td></tr>`);
  } else o.push('<tr><td>judge</td><td class="muted">none (rule-based scoring only)</td></tr>');
  o.push(
    `<tr><td>seeds</td><td>${esc(
      Object.entries(m.seeds)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    )}</td></tr>`,
  );
  for (const [task, d] of Object.entries(m.decoding))
    o.push(`<tr><td>decoding: ${esc(task)}</td><td><code>${esc(JSON.stringify(d))}</code></td></tr>`);
  if (m.timings)
    o.push(
      `<tr><td>timings (s)</td><td>${esc(
        Object.entries(m.timings)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', '),
      )}</td></tr>`,
    );
  o.push('</tbody></table>');
  o.push('<h3>Benchmark files</h3><table><thead><tr><th>file</th><th>role</th><th>sha256</th></tr></thead><tbody>');
  for (const f of m.files)
    o.push(
      `<tr><td><code>${esc(f.path)}</code></td><td>${esc(f.role ?? '')}</td><td><code>${esc(f.sha256)}</code></td></tr>`,
    );
  if (m.files.length === 0) o.push('<tr><td colspan="3" class="empty">generated in memory (see seeds)</td></tr>');
  o.push('</tbody></table>');
  if (m.notes?.length) o.push(`<h3>Notes</h3><ul>${m.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  o.push('</section>');
  return o.join('');
}

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>${REPORT_CSS}</style></head><body>${body}</body></html>\n`;
}

export function renderRunReport(m: RunMetrics): string {
  const body: string[] = [];
  body.push(
    `<header><h1>Evaluation: ${esc(m.model.id)}</h1><p class="muted">suite <b>${esc(m.suite)}</b> · ${m.benchmarks.length} benchmark entries · ${esc(m.created_at)}</p></header>`,
  );
  body.push('<nav><table><thead><tr><th>dimension</th><th>benchmarks</th></tr></thead><tbody>');
  for (const d of DIMENSION_NAMES) {
    const es = m.benchmarks.filter((e) => e.dimension === d);
    body.push(
      `<tr><td><a href="#dim-${d}">${esc(DIMENSIONS[d].title)}</a></td><td>${es.map((e) => `${esc(e.id)} ${fmt(e.headline.value)}`).join(' · ') || '<span class="empty">—</span>'}</td></tr>`,
    );
  }
  body.push('</tbody></table></nav>');
  for (const d of DIMENSION_NAMES)
    body.push(
      dimensionSection(
        d,
        m.benchmarks.filter((e) => e.dimension === d),
      ),
    );
  const other = m.benchmarks.filter((e) => !(DIMENSION_NAMES as string[]).includes(e.dimension));
  if (other.length)
    body.push(
      `<section><h2>Other</h2>${other.map((e) => `<p>${esc(e.id)}: ${fmt(e.headline.value)}</p>`).join('')}</section>`,
    );
  body.push(reproSection(m));
  return page(`mmalign eval — ${m.model.id} — ${m.suite}`, body.join('\n'));
}
