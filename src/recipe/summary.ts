import type { CompareResult } from '../report/compare.ts';
import { page } from '../report/html.ts';
import type { BenchmarkEntry, RunMetrics } from '../report/metrics.ts';
import { esc, groupedBarChart } from '../report/svg.ts';
import { type BarVerdict, type Evidence, formatCheck, judgeBar, SCENARIOS, type ScenarioName } from './scenarios.ts';
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
  /** the scenario whose bar judges the row (the recipe's `scenario:`) */
  scenario: ScenarioName;
  /** how the row fares against its scenario's bar; null for the baseline and for rows without a control */
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

/** Evidence of one seed's run for a method: the eval's values and the paired tests on its items. */
export function rowEvidence(row: MethodRow, base: MethodRow, control: MethodRow | undefined): Evidence {
  const of = { row, base, control } as const;
  return {
    value: (metric, who) => of[who]?.cells[metric]?.value ?? null,
    p: (metric, vs) => (vs === 'base' ? row.cells[metric]?.pBaseline : row.cells[metric]?.pControl) ?? null,
  };
}

/** How a method fares against its scenario's bar (scenarios.ts) on one seed. */
export function barVerdict(row: MethodRow, base: MethodRow, control: MethodRow | undefined): BarVerdict {
  return judgeBar(row.scenario, rowEvidence(row, base, control));
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
  arith: { entry: 'math/arith', pick: 'headline', title: 'arith', lowerIsBetter: false },
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
      scenario: m.scenario,
      bar: null,
    };
  });
  const base = rows.find((r) => r.method === ctx.baseline);
  for (const r of rows) {
    const control = rows.find((c) => c.method === r.control);
    // controls (SFT on chosen) are what methods are judged against, not judged themselves; a method without a
    // control fails every check that needs one
    if (base && r !== base && r.objective !== 'sft') r.bar = barVerdict(r, base, control);
  }
  return rows;
}

const stars = (p: number | null | undefined) =>
  p == null ? '' : p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : '';
export const num = (v: number | null | undefined, d = 3) => (v == null || Number.isNaN(v) ? '–' : v.toFixed(d));

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
    'arith',
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
    ...barLines(rows),
  ].join('\n');
}

/** One line per scenario the rows align for: its bar and the methods that clear it. */
export function barLines(rows: readonly Pick<MethodRow, 'label' | 'scenario' | 'bar'>[]): string[] {
  const present = [...new Set(rows.filter((r) => r.bar).map((r) => r.scenario))];
  return present.map(
    (sc) =>
      `${sc} bar (${SCENARIOS[sc].bar}): ${
        rows
          .filter((r) => r.scenario === sc && r.bar?.clears)
          .map((r) => r.label)
          .join(', ') || 'none'
      }`,
  );
}

/** "controls: A, B → C; D → E": which SFT-on-chosen run each method was tested against. */
function controlLines(rows: readonly MethodRow[]): string[] {
  const label = new Map(rows.map((r) => [r.method, r.label]));
  const groups = new Map<string, string[]>();
  for (const r of rows) if (r.control) groups.set(r.control, [...(groups.get(r.control) ?? []), r.label]);
  if (groups.size === 0) return [];
  return [`controls: ${[...groups].map(([c, ls]) => `${ls.join(', ')} → ${label.get(c) ?? c}`).join('; ')}`];
}

/**
 * One section per scenario the methods align for: its question, its bar, and each method's checks (value, pass)
 * with the verdict. Used by the one-seed report and, with seed-aggregate verdicts, by the multi-seed report.
 */
export function scenarioSections(
  rows: readonly Pick<MethodRow, 'label' | 'scenario' | 'bar' | 'control'>[],
  labelOf: ReadonlyMap<string, string>,
  opts: { extraHead?: string[]; extraCells?: (label: string) => string[] } = {},
): string[] {
  const out: string[] = [];
  for (const name of Object.keys(SCENARIOS) as ScenarioName[]) {
    const judged = rows.filter((r) => r.scenario === name && r.bar);
    if (judged.length === 0) continue;
    const sc = SCENARIOS[name];
    const checks = judged[0]!.bar!.checks;
    out.push(
      `<h2>${esc(sc.title)}</h2><p>${esc(sc.question)} Bar: ${esc(sc.bar)}.</p>`,
      `<table><thead><tr><th>method</th><th>control</th>${checks.map((c) => `<th>${esc(c.text)}</th>`).join('')}${(opts.extraHead ?? []).map((h) => `<th>${esc(h)}</th>`).join('')}<th>clears the bar</th></tr></thead><tbody>`,
    );
    for (const r of judged) {
      const cells = r.bar!.checks.map(
        (c) =>
          `<td class="${c.informational ? 'muted' : c.pass ? 'pass' : 'fail'}">${esc(formatCheck(c))}${c.informational ? '' : c.pass ? ' ✓' : ' ✗'}</td>`,
      );
      out.push(
        `<tr><td>${esc(r.label)}</td><td>${esc(r.control ? (labelOf.get(r.control) ?? r.control) : '–')}</td>${cells.join('')}${(opts.extraCells?.(r.label) ?? []).join('')}<td>${r.bar!.clears ? '<b>yes</b>' : 'no'}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
  }
  return out;
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
  if (base) body.push(...scenarioSections(rows, labelOf));
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
