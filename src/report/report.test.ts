import { describe, expect, it } from 'vitest';
import { compareRuns, renderCompareReport } from './compare.ts';
import { renderRunReport } from './html.ts';
import { RunMetrics, type RunMetricsInput } from './metrics.ts';
import { barChart, esc } from './svg.ts';

function run(values: number[], over: Partial<RunMetricsInput> = {}): RunMetrics {
  const n = values.length;
  const acc = values.reduce((a, b) => a + b, 0) / n;
  return RunMetrics.parse({
    schema: 'mmalign.eval/1',
    mmalign_version: '0.1.0',
    created_at: '2026-01-01T00:00:00Z',
    suite: 'shapes',
    model: { spec: 'm', id: 'model <b>' },
    decoding: { pope: { temperature: 0 } },
    seeds: { suite: 0 },
    files: [{ path: 'q.jsonl', sha256: 'ab'.repeat(32) }],
    benchmarks: [
      {
        id: 'vqa/count',
        benchmark: 'vqa',
        dimension: 'general',
        title: 'count',
        rule: 'r',
        headline: {
          name: 'accuracy',
          value: acc,
          ci: { low: acc - 0.1, high: acc + 0.1, level: 0.95, resamples: 100 },
        },
        metrics: { accuracy: acc },
        guards: { parse_rate: 0.2 },
        n,
        items: { metric: 'correct', ids: values.map((_, i) => `q${i}`), values },
      },
    ],
    ...over,
  });
}

describe('report.html', () => {
  it('is self-contained, escaped, grouped by the six dimensions, flags low parse rates', () => {
    const html = renderRunReport(run([1, 0, 1, 1]));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('model &lt;b&gt;');
    expect(html).not.toContain('model <b>');
    for (const d of [
      'General knowledge',
      'Hallucination',
      'Safety',
      'Conversation',
      'Reward model',
      'Alignment with human preference',
    ])
      expect(html).toContain(d);
    expect(html).toContain('0.200 ⚠');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html).toContain('ab'.repeat(32));
  });
  it('draws bars to scale with CI whiskers', () => {
    const svg = barChart([{ label: 'x', value: 0.5, low: 0.4, high: 0.6, scale: 1, text: '0.5' }], {
      title: 't',
      width: 640,
    });
    // plot width = 640 − 190 − 150 = 300: half of it is 150
    expect(svg).toContain('width="150.0"');
    expect(svg).toContain('M310.0');
    expect(esc('<a href="x">&')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;');
  });
  it('widens the label and value columns to fit long texts instead of cutting them at the edge', () => {
    const text = '0.098 (−44% vs SFT, −26% vs control; 1/5 seeds)';
    const label = 'MPO hallucination+safety on the mix chosen';
    const svg = barChart([{ label, value: 0.1, scale: 1, text }], { title: 't', width: 640 });
    const W = Number(/<svg[^>]* width="(\d+)"/.exec(svg)?.[1]);
    const valX = Number(/<text x="([\d.]+)" y="\d+" class="val">/.exec(svg)?.[1]);
    const lblX = Number(/<text x="([\d.]+)" y="\d+" text-anchor="end" class="lbl">/.exec(svg)?.[1]);
    expect(valX + text.length * 7).toBeLessThanOrEqual(W);
    expect(lblX - label.length * 7).toBeGreaterThanOrEqual(0);
    expect(W - lblX - 8 - (W - valX + 8)).toBeGreaterThanOrEqual(240);
  });
});

describe('eval compare', () => {
  it('pairs items by id and runs an exact McNemar test on correctness', () => {
    const a = run([1, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
    const b = run([1, 0, 1, 1, 1, 1, 1, 0, 1, 1]);
    const c = compareRuns([a, b], ['base', 'new']);
    const cell = c.rows[0].cells[1];
    // A-only right: q1 (1); B-only right: q2..q6 (5) → p = 2·(1 + 6)/64
    expect(cell.test?.discordant).toEqual({ aOnly: 1, bOnly: 5 });
    expect(cell.test?.pValue).toBeCloseTo(14 / 64, 12);
    expect(cell.test?.delta).toBeCloseTo(0.4, 12);
    expect(c.warnings).toEqual([]);
    const html = renderCompareReport(c);
    expect(html).toContain('mcnemar_exact');
    expect(html).toContain('<svg');
  });
  it('warns when runs were scored on different benchmark files', () => {
    const a = run([1, 0]);
    const b = run([1, 1], { files: [{ path: 'q.jsonl', sha256: 'cd'.repeat(32) }] });
    expect(compareRuns([a, b], ['a', 'b']).warnings).toEqual([
      'b was scored on different benchmark files than a: only items with the same id are paired',
    ]);
  });
  it('uses a paired bootstrap for graded per-item values', () => {
    const a = run([1, 2, 3, 4]);
    const b = run([2, 3, 4, 5]);
    const c = compareRuns([a, b], ['a', 'b'], { resamples: 200 });
    expect(c.rows[0].cells[1].test?.test).toBe('paired_bootstrap');
    expect(c.rows[0].cells[1].test?.delta).toBe(1);
    expect(c.rows[0].cells[1].test?.pValue).toBe(0);
  });
});
