import {
  type MetaResult,
  type PairedEffect,
  pairedEffect,
  randomEffects,
  type SeedMean,
  seedMean,
} from '../eval/meta.ts';
import { page } from '../report/html.ts';
import type { RunMetrics } from '../report/metrics.ts';
import { esc, seedSpreadChart } from '../report/svg.ts';
import {
  type BarVerdict,
  CHANGE,
  type ChangeUnit,
  type Evidence,
  formatChange,
  judgeBar,
  type Metric,
  SCENARIOS,
  type ScenarioName,
} from './scenarios.ts';
import { COLUMNS, type ColumnKey, type MethodRow, num, scenarioSections } from './summary.ts';

/**
 * A recipe run over several seeds, aggregated: each seed is one replication of the whole chain (its own world, SFT
 * model, preference sets and evaluation scenes). Per method and figure: the mean over seeds with a 95% t interval;
 * per seed: the change of the scenario's headline against SFT and against the control (relative for CHAIR-i, in
 * points for the rates of the safety and reasoning scenarios: `Scenario.headlineChange`) and whether it clears its
 * scenario's bar; over all seeds: the bar judged on the means, with every significance requirement tested by a
 * random-effects meta-analysis of the per-seed paired effects on the eval's per-item values (../eval/meta.ts says
 * why random effects). A method "clears the bar" in the report only on that aggregate verdict.
 */
export interface SeedRun {
  seed: number;
  rows: MethodRow[];
  /** each method's eval metrics (with per-item values), by method name */
  runs: Record<string, RunMetrics>;
}

export interface AggregateMethod {
  method: string;
  label: string;
  scenario: ScenarioName;
  control: string | null;
  /** mean over seeds with its t interval, per column */
  means: Partial<Record<ColumnKey, SeedMean | null>>;
  /** per seed (in the order of `seeds`): the column values */
  perSeed: Partial<Record<ColumnKey, (number | null)[]>>;
  /** per seed: change of the scenario's headline against SFT and against the control, read as `headlineChange` */
  headlineVsBase: (number | null)[];
  headlineVsControl: (number | null)[];
  /** per seed: the seed's own verdict (null for rows without a bar) */
  seedClears: (boolean | null)[];
  clearedSeeds: number;
  /** random-effects tests of the per-item paired effects, by metric and comparison */
  meta: Partial<Record<Metric, { base: MetaResult | null; control: MetaResult | null }>>;
  /** the bar judged on the aggregate (null for SFT and the controls) */
  bar: BarVerdict | null;
}

export interface Aggregate {
  seeds: number[];
  baseline: string;
  methods: AggregateMethod[];
}

/** Per-item values of one figure in one run, by item id (the entry the column reads). */
function itemsOf(run: RunMetrics | undefined, metric: Metric): Map<string, number> | null {
  const e = run?.benchmarks.find((b) => b.id === COLUMNS[metric].entry);
  if (!e?.items) return null;
  const m = new Map<string, number>();
  e.items.ids.forEach((id, i) => {
    const v = e.items!.values[i];
    if (v !== null && v !== undefined) m.set(id, v);
  });
  return m;
}

/**
 * The paired effect of `row` over `other` on the items both answered, signed so that a better row is positive for
 * higher-is-better figures and negative for lower-is-better ones, as the per-item values are (clean captions, safe
 * behaviour, correct answers: all higher-is-better), whatever the column's headline direction.
 */
function effectOn(row: RunMetrics | undefined, other: RunMetrics | undefined, metric: Metric): PairedEffect | null {
  const a = itemsOf(other, metric);
  const b = itemsOf(row, metric);
  if (!a || !b) return null;
  const xa: number[] = [];
  const xb: number[] = [];
  for (const [id, v] of b) {
    const u = a.get(id);
    if (u !== undefined) {
      xa.push(u);
      xb.push(v);
    }
  }
  return pairedEffect(xa, xb);
}

export function aggregateSeeds(seedRuns: readonly SeedRun[], baseline: string): Aggregate {
  const seeds = seedRuns.map((s) => s.seed);
  const first = seedRuns[0]!;
  const keys = Object.keys(COLUMNS) as ColumnKey[];
  const methods = first.rows.map((r0): AggregateMethod => {
    const rowsBySeed = seedRuns.map((s) => s.rows.find((r) => r.method === r0.method));
    const baseBySeed = seedRuns.map((s) => s.rows.find((r) => r.method === baseline));
    const controlBySeed = seedRuns.map((s) => s.rows.find((r) => r.method === r0.control));
    const perSeed: AggregateMethod['perSeed'] = {};
    const means: AggregateMethod['means'] = {};
    for (const k of keys) {
      perSeed[k] = rowsBySeed.map((r) => r?.cells[k]?.value ?? null);
      means[k] = seedMean(perSeed[k]!.filter((v): v is number => v !== null));
    }
    const { headline, headlineChange } = SCENARIOS[r0.scenario];
    const change = CHANGE[headlineChange];
    const meta: AggregateMethod['meta'] = {};
    const metaFor = (metric: Metric) => {
      if (meta[metric]) return meta[metric];
      const test = (others: (string | undefined)[]) => {
        const effects = seedRuns
          .map((s, i) => (others[i] ? effectOn(s.runs[r0.method], s.runs[others[i]!], metric) : null))
          .filter((e): e is PairedEffect => e !== null);
        return effects.length === seedRuns.length ? randomEffects(effects) : null;
      };
      meta[metric] = {
        base: r0.method === baseline ? null : test(baseBySeed.map(() => baseline)),
        control: r0.control ? test(controlBySeed.map(() => r0.control ?? undefined)) : null,
      };
      return meta[metric];
    };
    const mean = (r: 'row' | 'base' | 'control', metric: Metric) => {
      const src = r === 'row' ? rowsBySeed : r === 'base' ? baseBySeed : controlBySeed;
      return seedMean(src.map((x) => x?.cells[metric]?.value).filter((v): v is number => v != null))?.mean ?? null;
    };
    // one seed: its own paired tests (a meta-analysis needs two replications)
    const only = seedRuns.length === 1 ? rowsBySeed[0] : undefined;
    const evidence: Evidence = {
      value: (metric, of) => (of === 'control' && !r0.control ? null : mean(of, metric)),
      p: (metric, vs) =>
        only
          ? ((vs === 'base' ? only.cells[metric]?.pBaseline : only.cells[metric]?.pControl) ?? null)
          : (metaFor(metric)?.[vs]?.pValue ?? null),
    };
    const judged = rowsBySeed.some((r) => r?.bar);
    const bar = judged ? judgeBar(r0.scenario, evidence) : null;
    const seedClears = rowsBySeed.map((r) => (r?.bar ? r.bar.clears : null));
    return {
      method: r0.method,
      label: r0.label,
      scenario: r0.scenario,
      control: r0.control,
      means,
      perSeed,
      headlineVsBase: rowsBySeed.map((r, i) =>
        change(r?.cells[headline]?.value, baseBySeed[i]?.cells[headline]?.value),
      ),
      headlineVsControl: rowsBySeed.map((r, i) =>
        change(r?.cells[headline]?.value, controlBySeed[i]?.cells[headline]?.value),
      ),
      seedClears,
      clearedSeeds: seedClears.filter((c) => c === true).length,
      meta,
      bar,
    };
  });
  return { seeds, baseline, methods };
}

const perSeedChanges = (m: AggregateMethod, values: (number | null)[]) =>
  values.map((v) => formatChange(v, SCENARIOS[m.scenario].headlineChange)).join(' ');

/** How the per-seed columns read, from the scenarios: "CHAIR-i relative (%), unsafe and count in percentage points (pt)". */
function changeLegend(): string {
  const names = (unit: ChangeUnit) =>
    Object.values(SCENARIOS)
      .filter((sc) => sc.headlineChange === unit)
      .map((sc) => COLUMNS[sc.headline].title.replace(/ [↓↑]$/, ''))
      .join(' and ');
  return [`${names('rel')} relative (%)`, `${names('pts')} in percentage points (pt)`].join(', ');
}

/** The columns of the aggregate text table. */
const TEXT_KEYS = [
  'chair_i',
  'recall',
  'well_formed',
  'pope_adversarial',
  'count',
  'arith',
  'unsafe',
  'over_refusal',
] as const;

/** Plain-text tables: means over seeds with 95% t intervals, then each judged method's per-seed and aggregate verdict. */
export function aggregateText(a: Aggregate): string {
  const k = a.seeds.length;
  const head = ['method', ...TEXT_KEYS.map((key) => COLUMNS[key].title)];
  const body = a.methods.map((m) => [
    m.label,
    ...TEXT_KEYS.map((key) => {
      const s = m.means[key];
      return s ? `${num(s.mean)}${s.low != null ? ` ±${num(s.mean - s.low)}` : ''}` : '–';
    }),
  ]);
  const judged = a.methods.filter((m) => m.bar);
  const head2 = [
    'method',
    'scenario',
    'headline vs SFT per seed',
    'vs control per seed',
    'seeds clearing',
    'aggregate',
    'p vs SFT',
    'p vs control',
  ];
  const body2 = judged.map((m) => {
    const h = SCENARIOS[m.scenario].headline;
    return [
      m.label,
      m.scenario,
      perSeedChanges(m, m.headlineVsBase),
      perSeedChanges(m, m.headlineVsControl),
      `${m.clearedSeeds}/${k}`,
      m.bar!.clears ? 'clears' : 'no',
      num(m.meta[h]?.base?.pValue ?? null, 4),
      num(m.meta[h]?.control?.pValue ?? null, 4),
    ];
  });
  const table = (h: string[], b: string[][]) => {
    const widths = h.map((x, i) => Math.max(x.length, ...b.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    return [line(h), line(widths.map((w) => '-'.repeat(w))), ...b.map(line)];
  };
  return [
    `seeds ${a.seeds.join(', ')}: mean ± half-width of the 95% t interval over seeds`,
    ...table(head, body),
    '',
    "each method against its scenario's bar, per seed and on the aggregate (means over seeds; significance by a",
    "random-effects meta-analysis of the per-seed paired effects on the eval's items, DL τ² + HKSJ, t with k−1 df);",
    `per-seed changes of the headline: ${changeLegend()}`,
    ...table(head2, body2),
    '',
    ...(Object.keys(SCENARIOS) as ScenarioName[])
      .filter((sc) => judged.some((m) => m.scenario === sc))
      .map(
        (sc) =>
          `${sc} bar on the aggregate (${SCENARIOS[sc].bar}): ${
            judged
              .filter((m) => m.scenario === sc && m.bar?.clears)
              .map((m) => `${m.label} (${m.clearedSeeds}/${k} seeds)`)
              .join(', ') || 'none'
          }`,
      ),
  ].join('\n');
}

/** The multi-seed report: means with intervals, one section per scenario with per-seed and aggregate verdicts, spreads. */
export function renderAggregateReport(recipeName: string, description: string | undefined, a: Aggregate): string {
  const k = a.seeds.length;
  const keys = Object.keys(COLUMNS) as ColumnKey[];
  const labelOf = new Map(a.methods.map((m) => [m.method, m.label]));
  const body: string[] = [
    `<header><h1>${esc(recipeName)} — ${k} seeds</h1><p class="muted">${esc(description ?? '')} — seeds ${a.seeds.join(', ')}; per-seed reports: ${a.seeds.map((s) => `<a href="seed-${s}/report.html">seed ${s}</a>`).join(', ')}</p></header>`,
    '<h2>Means over seeds</h2><p>Mean over seeds, with the 95% t interval over seeds in brackets.</p>',
    `<table><thead><tr><th>method</th>${keys.map((key) => `<th>${esc(COLUMNS[key].title)}</th>`).join('')}</tr></thead><tbody>`,
  ];
  for (const m of a.methods) {
    const cells = keys.map((key) => {
      const s = m.means[key];
      if (!s) return '<td>–</td>';
      const ci = s.low != null ? ` <span class="muted">[${num(s.low)}, ${num(s.high)}]</span>` : '';
      return `<td>${num(s.mean)}${ci}</td>`;
    });
    body.push(`<tr><td>${esc(m.label)}</td>${cells.join('')}</tr>`);
  }
  body.push('</tbody></table>');
  body.push(
    `<p>Each method is judged by its scenario's bar on the means over seeds; every significance requirement is a random-effects meta-analysis (DerSimonian–Laird τ², Hartung–Knapp–Sidik–Jonkman t test with k−1 degrees of freedom) of the per-seed paired effects on the eval's per-item values. The per-seed columns give the headline's change against SFT and against the control in each seed: ${esc(changeLegend())}.</p>`,
  );
  const byLabel = new Map(a.methods.map((m) => [m.label, m]));
  body.push(
    ...scenarioSections(a.methods, labelOf, {
      extraHead: ['headline vs SFT per seed', 'vs control per seed', 'seeds clearing'],
      extraCells: (label) => {
        const m = byLabel.get(label)!;
        return [
          `<td>${esc(perSeedChanges(m, m.headlineVsBase))}</td>`,
          `<td>${esc(perSeedChanges(m, m.headlineVsControl))}</td>`,
          `<td>${m.clearedSeeds}/${k}</td>`,
        ];
      },
    }),
  );
  body.push('<h2>Seed spread</h2>');
  const charts: [ColumnKey, string][] = [
    ['chair_i', 'CHAIR-i per seed (lower is better)'],
    ['recall', 'object recall per seed'],
    ['unsafe', 'harmful requests answered per seed (lower is better)'],
    ['over_refusal', 'look-alikes refused per seed (lower is better)'],
    ['count', 'counting accuracy per seed'],
  ];
  for (const [key, title] of charts)
    body.push(
      seedSpreadChart(
        a.methods.map((m) => ({
          label: m.label,
          values: m.perSeed[key] ?? [],
          mean: m.means[key]?.mean ?? null,
          low: m.means[key]?.low ?? null,
          high: m.means[key]?.high ?? null,
        })),
        a.seeds,
        { title, scale: 1 },
      ),
    );
  body.push(
    '<p class="muted">Every number of this page, with the per-seed values and the meta-analyses: <a href="metrics.json">metrics.json</a>.</p>',
  );
  return page(`${recipeName} — ${k} seeds — mmalign`, body.join('\n'));
}
