import { describe, expect, it } from 'vitest';
import type { RunMetrics } from '../report/metrics.ts';
import { aggregateSeeds, aggregateText, renderAggregateReport, type SeedRun } from './aggregate.ts';
import { type Cell, COLUMNS, type MethodRow } from './summary.ts';

const CLEAN_SFT = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
// per seed, the method's clean captions on the same 10 items (paired effects +0.3, +0.2, +0.3)
const CLEAN_M = [
  [1, 1, 1, 0, 0, 1, 1, 1, 1, 1],
  [1, 1, 0, 0, 0, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 0, 1, 1, 1, 1, 0],
];

function run(clean: readonly number[]): RunMetrics {
  return {
    benchmarks: [
      {
        id: COLUMNS.chair_i.entry,
        items: { metric: 'clean_caption', ids: clean.map((_, i) => `item-${i}`), values: [...clean] },
      },
    ],
  } as unknown as RunMetrics;
}

function row(method: string, objective: string, control: string | null, values: Record<string, number>): MethodRow {
  const cells: Record<string, Cell> = Object.fromEntries(
    Object.keys(COLUMNS).map((k) => [k, { value: values[k] ?? null }]),
  );
  return {
    method,
    label: method.toUpperCase(),
    objective,
    data: null,
    cells,
    pairs: 0,
    constructionRequests: 0,
    trainSeconds: 0,
    chosenShift: null,
    control,
    scenario: 'hallucination',
    bar: null,
  };
}

const chairM = [0.1, 0.12, 0.08];
const seedRuns: SeedRun[] = chairM.map((c, s) => {
  const m = row('m', 'dpo', 'ctl', { chair_i: c, recall: 0.8, well_formed: 1, pope_adversarial: 0.8 });
  // the seeds' own verdicts: seeds 1 and 3 clear, seed 2 does not
  m.bar = { scenario: 'hallucination', checks: [], clears: s !== 1 };
  return {
    seed: s + 1,
    rows: [
      row('sft', 'none', null, { chair_i: 0.2, recall: 0.8, well_formed: 1, pope_adversarial: 0.8 }),
      row('ctl', 'sft', null, { chair_i: 0.18, recall: 0.8, well_formed: 1, pope_adversarial: 0.8 }),
      m,
    ],
    runs: { sft: run(CLEAN_SFT), ctl: run(CLEAN_SFT), m: run(CLEAN_M[s]!) },
  };
});

describe('aggregateSeeds', () => {
  const a = aggregateSeeds(seedRuns, 'sft');
  const m = a.methods.find((x) => x.method === 'm')!;

  it('means over seeds with t intervals, and per-seed relative changes', () => {
    expect(m.means.chair_i?.mean).toBeCloseTo(0.1, 12);
    expect(m.means.chair_i?.low).toBeCloseTo(0.0503172457649934, 10); // scipy: 0.1 − t(0.975, 2)·0.02/√3
    expect(m.perSeed.chair_i).toEqual(chairM);
    expect(m.headlineVsBase.map((v) => Number(v!.toFixed(6)))).toEqual([-0.5, -0.4, -0.6]);
    expect(m.headlineVsControl[0]).toBeCloseTo(0.1 / 0.18 - 1, 12);
  });

  it('tests the per-seed paired effects with a random-effects meta-analysis (numpy/scipy reference)', () => {
    const t = m.meta.chair_i!.base!;
    expect(t.effect).toBeCloseTo(0.25353480841878034, 12);
    expect(t.tau2).toBe(0);
    expect(t.pValue).toBeCloseTo(0.1080723814969742, 10);
  });

  it('counts the seeds that clear, and judges the bar on the aggregate: here not significant, so not cleared', () => {
    expect(m.seedClears).toEqual([true, false, true]);
    expect(m.clearedSeeds).toBe(2);
    expect(m.bar?.clears).toBe(false);
    expect(m.bar?.checks.find((c) => c.text === 'vs SFT p < 0.05')?.value).toBeCloseTo(0.1080723814969742, 10);
    // SFT and the control are not judged
    expect(a.methods.filter((x) => x.bar).map((x) => x.method)).toEqual(['m']);
  });

  it('writes the text table and a report with a seed-spread chart per headline', () => {
    const text = aggregateText(a);
    expect(text).toContain('seeds 1, 2, 3');
    expect(text).toContain(
      'per-seed changes of the headline: CHAIR-i relative (%), unsafe and count in percentage points (pt)\n',
    );
    expect(text).toMatch(/^M\s+hallucination\s+-50% -40% -60%\s+-44% -33% -56%\s+2\/3\s+no\s+0\.1081/m);
    expect(text.split('\n').at(-1)).toMatch(/^hallucination bar on the aggregate .*: none$/);
    const html = renderAggregateReport('r', 'd', a);
    expect(html).toContain('<h2>Hallucination</h2>');
    expect((html.match(/class="chart spread"/g) ?? []).length).toBe(5);
    expect((html.match(/<circle /g) ?? []).length).toBeGreaterThanOrEqual(9);
  });
});

describe('per-seed changes of a rate headline', () => {
  // a safety method: unsafe 0.99 → 0.02 and 0.98 → 0.00 against SFT, its control at 0.01 and at 0 (a relative
  // change against 0 has no value; points do). Per seed: [SFT, control, method]
  const safetyRuns: SeedRun[] = [
    [0.99, 0.01, 0.02],
    [0.98, 0.0, 0.0],
  ].map(([sft, ctl, m], s) => {
    const rows = [
      row('sft', 'none', null, { unsafe: sft! }),
      row('ctl', 'sft', null, { unsafe: ctl! }),
      row('m', 'mpo', 'ctl', { unsafe: m! }),
    ];
    for (const r of rows) r.scenario = 'safety';
    rows[2]!.bar = { scenario: 'safety', checks: [], clears: false };
    return { seed: s + 1, rows, runs: {} };
  });
  const agg = aggregateSeeds(safetyRuns, 'sft');
  const m = agg.methods.find((x) => x.method === 'm')!;

  it('reads them in percentage points, and prints them with "pt"', () => {
    expect(m.headlineVsBase.map((v) => Number(v!.toFixed(6)))).toEqual([-97, -98]);
    expect(m.headlineVsControl.map((v) => Number(v!.toFixed(6)))).toEqual([1, 0]);
    expect(aggregateText(agg)).toMatch(/^M\s+safety\s+-97\.0pt -98\.0pt\s+\+1\.0pt \+0\.0pt\s+0\/2\s+no/m);
  });
});
