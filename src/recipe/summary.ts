import type { CompareResult } from '../report/compare.ts';
import { page } from '../report/html.ts';
import type { BenchmarkEntry, RunMetrics } from '../report/metrics.ts';
import { esc, groupedBarChart } from '../report/svg.ts';
import type { AlignMethod, Recipe } from './schema.ts';

/**
 * The recipe's answer to "which alignment method reduced hallucination, by how much, and at what cost to other
 * abilities?": one row per method, the hallucination metrics with their guards (recall, well-formed share), general
 * ability, safety, data size and cost, training time, and for each figure whether it differs significantly from
 * SFT and from the SFT-on-chosen control (paired tests on the same items).
 */
export interface Cell {
  value: number | null;
  low?: number | null;
  high?: number | null;
  /** p-value of the paired test against the baseline / control, when there is one */
  pBaseline?: number | null;
  pControl?: number | null;
}

export interface MethodRow {
  method: string;
  label: string;
  objective: string;
  data: string | null;
  cells: Record<string, Cell>;
  pairs: number;
  constructionRequests: number;
  trainSeconds: number;
  chosenShift: number | null;
  /** the SFT-on-chosen method this row is tested against (see `controlsOf`), when it has one */
  control: string | null;
  /** how the row fares against the main job's bar (see `BAR`); null for the baseline and for rows without a control */
  bar: BarVerdict | null;
}

/**
 * The control of each method: the one it names (`control:`), else the SFT-on-chosen run trained on the same
 * preference set (same data, same steps: what is left of the method's effect beyond it is the preference effect),
 * else `fallback` (`compare.control`). SFT-on-chosen runs and the baseline (`objective: none`) have none.
 */
export function controlsOf(methods: Record<string, AlignMethod>, fallback?: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, m] of Object.entries(methods)) {
    if (m.objective === 'none' || m.objective === 'sft') {
      out[name] = null;
      continue;
    }
    const own = Object.entries(methods).find(([n, c]) => n !== name && c.objective === 'sft' && c.data === m.data);
    out[name] = m.control ?? own?.[0] ?? (fallback && fallback !== name ? fallback : null);
  }
  return out;
}

/**
 * The main job's bar for "this method reduced hallucination": CHAIR-i at least 30% below both SFT and the method's
 * control, each difference significant (paired test, p < 0.05), at a cost of at most 2 points of object recall and
 * 1 point of POPE-adversarial F1 against SFT, with ≥ 95% well-formed captions.
 */
export const BAR = { chairDrop: 0.3, alpha: 0.05, recallPts: 2, popeAdvPts: 1, wellFormed: 0.95 } as const;

export interface BarVerdict {
  chairVsBaseline: number | null;
  chairVsControl: number | null;
  recallPts: number | null;
  popeAdvPts: number | null;
  wellFormed: number | null;
  /** every condition of `BAR` holds */
  clears: boolean;
}

const rel = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || b === 0 ? null : (a - b) / b;
const pts = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null ? null : (a - b) * 100;

export function barVerdict(row: MethodRow, base: MethodRow, control: MethodRow): BarVerdict {
  const c = row.cells;
  const v = {
    chairVsBaseline: rel(c.chair_i.value, base.cells.chair_i.value),
    chairVsControl: rel(c.chair_i.value, control.cells.chair_i.value),
    recallPts: pts(c.recall.value, base.cells.recall.value),
    popeAdvPts: pts(c.pope_adversarial.value, base.cells.pope_adversarial.value),
    wellFormed: c.well_formed.value,
  };
  // a hair of tolerance so that a value exactly on the bar (0.105 vs 0.15) is not lost to floating point
  const eps = 1e-9;
  const below = (x: number | null) => x != null && x <= -BAR.chairDrop + eps;
  const sig = (p: number | null | undefined) => p != null && p < BAR.alpha;
  const clears =
    below(v.chairVsBaseline) &&
    below(v.chairVsControl) &&
    sig(c.chair_i.pBaseline) &&
    sig(c.chair_i.pControl) &&
    v.recallPts != null &&
    v.recallPts >= -BAR.recallPts - eps &&
    v.popeAdvPts != null &&
    v.popeAdvPts >= -BAR.popeAdvPts - eps &&
    v.wellFormed != null &&
    v.wellFormed >= BAR.wellFormed;
  return { ...v, clears };
}

/** Columns: key → (entry id, which number of the entry). */
export const COLUMNS = {
  chair_i: { entry: 'chair/captions', pick: 'headline', title: 'CHAIR-i ↓', lowerIsBetter: true },
  chair_s: { entry: 'chair/captions', pick: 'metrics.chair_s', title: 'CHAIR-s ↓', lowerIsBetter: true },
  recall: { entry: 'chair/captions', pick: 'guards.recall', title: 'recall', lowerIsBetter: false },
  well_formed: { entry: 'chair/captions', pick: 'guards.parse_rate', title: 'well-formed', lowerIsBetter: false },
  pope_random: { entry: 'pope/random', pick: 'headline', title: 'POPE-rand F1', lowerIsBetter: false },
  pope_popular: { entry: 'pope/popular', pick: 'headline', title: 'POPE-pop F1', lowerIsBetter: false },
  pope_adversarial: { entry: 'pope/adversarial', pick: 'headline', title: 'POPE-adv F1', lowerIsBetter: false },
  attribute: { entry: 'vqa/attribute', pick: 'headline', title: 'attribute', lowerIsBetter: false },
  count: { entry: 'vqa/count', pick: 'headline', title: 'count', lowerIsBetter: false },
  mc: { entry: 'mc/circular', pick: 'headline', title: 'MC (circ.)', lowerIsBetter: false },
  unsafe: { entry: 'safety/refusal', pick: 'headline', title: 'unsafe ↓', lowerIsBetter: true },
  over_refusal: {
    entry: 'safety/refusal',
    pick: 'guards.over_refusal_rate',
    title: 'over-refusal ↓',
    lowerIsBetter: true,
  },
} as const;
export type ColumnKey = keyof typeof COLUMNS;

function pickValue(e: BenchmarkEntry | undefined, pick: string): Cell {
  if (!e) return { value: null };
  if (pick === 'headline')
    return { value: e.headline.value, low: e.headline.ci?.low ?? null, high: e.headline.ci?.high ?? null };
  const [where, key] = pick.split('.');
  const src = where === 'guards' ? e.guards : e.metrics;
  const v = src[key];
  return { value: typeof v === 'number' ? v : null };
}

function pFrom(c: CompareResult | undefined, entryId: string, label: string): number | null {
  if (!c) return null;
  const row = c.rows.find((r) => r.id === entryId);
  const i = c.runs.findIndex((r) => r.label === label);
  if (!row || i <= 0) return null;
  return row.cells[i]?.test?.pValue ?? null;
}

export interface TableContext {
  align: Record<
    string,
    { wallSeconds: number; pairs: number; chosenShift: number | null; constructionCost: { requests: number } }
  >;
  sets: Record<string, { records: number; cost: { requests: number } }>;
  methods: Record<string, AlignMethod>;
  /** paired comparisons keyed by the method every other run was tested against (the baseline, each control) */
  comparisons: Record<string, CompareResult>;
  baseline?: string;
  /** method → its control (`controlsOf`) */
  controls: Record<string, string | null>;
  sftSeconds: number;
}

export function methodTable(
  names: readonly string[],
  labels: readonly string[],
  runs: readonly RunMetrics[],
  ctx: TableContext,
): MethodRow[] {
  const rows = names.map((name, i): MethodRow => {
    const m = ctx.methods[name];
    const control = ctx.controls[name] ?? null;
    const cells: Record<string, Cell> = {};
    for (const [key, col] of Object.entries(COLUMNS)) {
      const e = runs[i].benchmarks.find((b) => b.id === col.entry);
      const cell = pickValue(e, col.pick);
      if (col.pick === 'headline') {
        cell.pBaseline =
          ctx.baseline && ctx.baseline !== name ? pFrom(ctx.comparisons[ctx.baseline], col.entry, labels[i]) : null;
        cell.pControl = control ? pFrom(ctx.comparisons[control], col.entry, labels[i]) : null;
      }
      cells[key] = cell;
    }
    const a = ctx.align[name];
    return {
      method: name,
      label: labels[i],
      objective: m.objective,
      data: m.data ?? null,
      cells,
      pairs: a?.pairs ?? 0,
      constructionRequests: a?.constructionCost.requests ?? 0,
      trainSeconds: m.objective === 'none' ? ctx.sftSeconds : (a?.wallSeconds ?? 0),
      chosenShift: a?.chosenShift ?? null,
      control,
      bar: null,
    };
  });
  const base = rows.find((r) => r.method === ctx.baseline);
  for (const r of rows) {
    const control = rows.find((c) => c.method === r.control);
    if (base && control && r !== base) r.bar = barVerdict(r, base, control);
  }
  return rows;
}

const stars = (p: number | null | undefined) =>
  p == null ? '' : p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : '';
const num = (v: number | null | undefined, d = 3) => (v == null || Number.isNaN(v) ? '–' : v.toFixed(d));

/** Plain-text table: value, then significance marks vs baseline (b) and control (c). */
export function tableText(rows: readonly MethodRow[]): string {
  const keys = [
    'chair_i',
    'chair_s',
    'recall',
    'well_formed',
    'pope_random',
    'pope_adversarial',
    'attribute',
    'count',
    'mc',
    'unsafe',
    'over_refusal',
  ] as const;
  const head = ['method', ...keys.map((k) => COLUMNS[k].title), 'pairs', 'train s'];
  const body = rows.map((r) => [
    r.label,
    ...keys.map((k) => {
      const c = r.cells[k];
      const marks = [stars(c.pBaseline) && `b${stars(c.pBaseline)}`, stars(c.pControl) && `c${stars(c.pControl)}`]
        .filter(Boolean)
        .join('');
      return `${num(c.value)}${marks ? ` ${marks}` : ''}`;
    }),
    String(r.pairs),
    r.trainSeconds.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    "b/c: paired test against SFT (b) and against the method's SFT-on-chosen control (c: same preference data, same",
    '     steps) on the same items: * p<0.05, ** p<0.01, *** p<0.001',
    ...controlLines(rows),
    `${BAR_TEXT}: ${
      rows
        .filter((r) => r.bar?.clears)
        .map((r) => r.label)
        .join(', ') || 'none'
    }`,
  ].join('\n');
}

const BAR_TEXT = `clears the bar (CHAIR-i ≥ ${BAR.chairDrop * 100}% below SFT and below its control, both p < ${BAR.alpha}; recall ≥ SFT − ${BAR.recallPts} pts; well-formed ≥ ${BAR.wellFormed * 100}%; POPE-adv F1 ≥ SFT − ${BAR.popeAdvPts} pt)`;

/** "controls: A, B → C; D → E": which SFT-on-chosen run each method was tested against. */
function controlLines(rows: readonly MethodRow[]): string[] {
  const label = new Map(rows.map((r) => [r.method, r.label]));
  const groups = new Map<string, string[]>();
  for (const r of rows) if (r.control) groups.set(r.control, [...(groups.get(r.control) ?? []), r.label]);
  if (groups.size === 0) return [];
  return [`controls: ${[...groups].map(([c, ls]) => `${ls.join(', ')} → ${label.get(c) ?? c}`).join('; ')}`];
}

export function renderRecipeReport(
  recipe: Recipe,
  rows: readonly MethodRow[],
  summary: Record<string, unknown>,
  comparePages: string[],
): string {
  const base = rows.find((r) => r.method === recipe.compare.baseline);
  const labelOf = new Map(rows.map((r) => [r.method, r.label]));
  const keys = Object.keys(COLUMNS) as ColumnKey[];
  const body: string[] = [];
  body.push(
    `<header><h1>${esc(recipe.name)}</h1><p class="muted">${esc(recipe.description ?? '')} — seed ${recipe.seed}</p></header>`,
  );
  body.push('<h2>Methods</h2><table><thead><tr><th>method</th><th>objective</th><th>data</th>');
  for (const k of keys) body.push(`<th>${esc(COLUMNS[k].title)}</th>`);
  body.push('<th>pairs</th><th>train s</th><th>Δ log π(y_w)</th></tr></thead><tbody>');
  for (const r of rows) {
    body.push(`<tr><td>${esc(r.label)}</td><td>${esc(r.objective)}</td><td>${esc(r.data ?? '–')}</td>`);
    for (const k of keys) {
      const c = r.cells[k];
      const ci = c.low != null && c.high != null ? ` <span class="muted">[${num(c.low)}, ${num(c.high)}]</span>` : '';
      const sig = [
        stars(c.pBaseline) && `vs SFT ${stars(c.pBaseline)}`,
        stars(c.pControl) && `vs control ${stars(c.pControl)}`,
      ]
        .filter(Boolean)
        .join(', ');
      body.push(`<td>${num(c.value)}${ci}${sig ? `<br><small>${esc(sig)}</small>` : ''}</td>`);
    }
    body.push(`<td>${r.pairs}</td><td>${r.trainSeconds.toFixed(0)}</td><td>${num(r.chosenShift, 2)}</td></tr>`);
  }
  body.push('</tbody></table>');
  if (base) {
    body.push(
      `<h2>Hallucination change</h2><p>Each method against SFT and against its control (SFT on the chosen answers of the same preference data, same steps). ${esc(BAR_TEXT)}.</p>`,
      '<table><thead><tr><th>method</th><th>control</th><th>CHAIR-i vs SFT</th><th>CHAIR-i vs control</th><th>recall Δ (pts)</th><th>well-formed</th><th>POPE-adv F1 Δ (pts)</th><th>clears the bar</th></tr></thead><tbody>',
    );
    const pct = (v: number | null | undefined) => (v == null ? '–' : `${(v * 100).toFixed(0)}%`);
    const sig = (p: number | null | undefined) => (p == null ? '' : ` <small>(p=${p.toPrecision(2)})</small>`);
    for (const r of rows) {
      if (r === base) continue;
      const b = r.bar;
      body.push(
        `<tr><td>${esc(r.label)}</td><td>${esc(r.control ? (labelOf.get(r.control) ?? r.control) : '–')}</td>` +
          `<td>${pct(b?.chairVsBaseline ?? rel(r.cells.chair_i.value, base.cells.chair_i.value))}${sig(r.cells.chair_i.pBaseline)}</td>` +
          `<td>${pct(b?.chairVsControl)}${sig(r.cells.chair_i.pControl)}</td>` +
          `<td>${num(b?.recallPts ?? pts(r.cells.recall.value, base.cells.recall.value), 1)}</td>` +
          `<td>${num(r.cells.well_formed.value)}</td>` +
          `<td>${num(b?.popeAdvPts ?? pts(r.cells.pope_adversarial.value, base.cells.pope_adversarial.value), 1)}</td>` +
          `<td>${b == null ? '–' : b.clears ? '<b>yes</b>' : 'no'}</td></tr>`,
      );
    }
    body.push('</tbody></table>');
  }
  body.push('<h2>Charts</h2>');
  const series = rows.map((r) => r.label);
  const group = (label: string, key: ColumnKey) => ({
    label,
    scale: 1,
    values: rows.map((r) => ({ value: r.cells[key].value, low: r.cells[key].low, high: r.cells[key].high })),
  });
  body.push(
    groupedBarChart([group('CHAIR-i', 'chair_i'), group('CHAIR-s', 'chair_s')], series, {
      title: 'Hallucination (lower is better)',
    }),
  );
  body.push(
    groupedBarChart(
      [
        group('recall', 'recall'),
        group('POPE-adv F1', 'pope_adversarial'),
        group('attribute', 'attribute'),
        group('count', 'count'),
        group('MC (circular)', 'mc'),
      ],
      series,
      { title: 'Abilities (higher is better)' },
    ),
  );
  body.push(`<h2>Data and stages</h2><pre>${esc(JSON.stringify(summary, null, 2))}</pre>`);
  for (const c of comparePages)
    body.push(
      `<details><summary>Full paired comparison</summary>${c.replace(/^[\s\S]*<body>|<\/body>[\s\S]*$/g, '')}</details>`,
    );
  return page(`${recipe.name} — mmalign`, body.join('\n'));
}
