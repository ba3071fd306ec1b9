import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import { RunMetrics } from '../../report/metrics.ts';
import { promptText, type Sample } from '../../schema/index.ts';
import { IN_DISTRIBUTION_SEED_OFFSET } from '../../world/index.ts';
import { runSuite } from './runner.ts';
import { ScriptedModel } from './scripted-model.ts';

describe('eval run --suite shapes (scripted model)', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const out = path.join(dir, 'run');
  const model = new ScriptedModel();
  let first: Awaited<ReturnType<typeof runSuite>>;

  it('writes metrics.json and report.html with every dimension', async () => {
    first = await runSuite({ suite: 'shapes', modelSpec: 'scripted', model, out, seed: 3, limit: 6, resamples: 200 });
    expect(existsSync(first.metricsPath)).toBe(true);
    expect(existsSync(first.reportPath)).toBe(true);
    const m = RunMetrics.parse(JSON.parse(readFileSync(first.metricsPath, 'utf8')));
    expect(new Set(m.benchmarks.map((e) => e.dimension))).toEqual(
      new Set(['hallucination', 'general', 'safety', 'conversation', 'reward_model', 'preference']),
    );
    expect(m.files[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.mmalign_version).toBe('0.1.0');
    const html = readFileSync(first.reportPath, 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('computes the figures the scripted answers imply', () => {
    const m = first.metrics;
    const samples = readFileSync(path.join(out, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Sample);
    const pope = samples.filter((s) => s.task === 'pope');
    const yes = pope.filter((s) => (s.truth as { label: string }).label === 'yes').length;
    const all = m.benchmarks.find((e) => e.id === 'pope/all');
    expect(all?.metrics.recall).toBe(1);
    expect(all?.metrics.precision).toBe(yes / pope.length);
    expect(all?.headline.value).toBeCloseTo((2 * (yes / pope.length)) / (yes / pope.length + 1), 12);
    const count = m.benchmarks.find((e) => e.id === 'vqa/count');
    expect(count?.headline.value).toBe(1);
    const attr = m.benchmarks.find((e) => e.id === 'vqa/attribute');
    expect(attr?.headline.value).toBe(0.5); // odd indices answer, even ones are empty
    expect(attr?.guards.parse_rate).toBe(0.5);
    const arith = m.benchmarks.find((e) => e.id === 'math/arith');
    expect(arith?.headline.value).toBe(1);
    const reward = m.benchmarks.find((e) => e.id === 'reward/implicit-logprob');
    expect(reward?.headline.value).toBe(1);
    const chair = m.benchmarks.find((e) => e.id === 'chair/captions');
    const caps = samples.filter((s) => s.task === 'caption');
    const hallucinated = caps.filter(
      (s, i) => i % 2 === 1 && !(s.truth as { objects: { name: string }[] }).objects.some((o) => o.name === 'star'),
    ).length;
    expect(chair?.metrics.n_hallucinated_captions).toBe(hallucinated);
    expect(chair?.metrics.chair_s).toBe(hallucinated / caps.length);
    const safety = m.benchmarks.find((e) => e.id === 'safety/refusal');
    expect(safety?.metrics.over_refusal_rate).toBe(0);
    const harmful = samples.filter((s) => s.task === 'safety' && (s.truth as { shouldRefuse: boolean }).shouldRefuse);
    const complied = harmful.filter((s) => Number(s.id.split('-')[3]) % 2 === 0).length;
    expect(harmful.length).toBeGreaterThan(0);
    expect(safety?.headline.value).toBe(complied / harmful.length);
    for (const e of m.benchmarks) if (e.headline.value !== null && e.n > 1) expect(e.headline.ci, e.id).toBeTruthy();
  });

  it('asks POPE on in-distribution held-out scenes and everything else on the test split', () => {
    const samples = readFileSync(path.join(out, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Sample);
    const seedOf = (s: Sample) => s.id.split('-')[0];
    for (const s of samples)
      if (s.task === 'pope') {
        expect(s.split).toBe('train');
        expect(seedOf(s)).toBe(`sw${3 + IN_DISTRIBUTION_SEED_OFFSET}`);
      } else {
        expect(s.split).toBe('test');
        expect(seedOf(s)).toBe('sw3');
      }
    expect(samples.some((s) => s.task === 'pope')).toBe(true);
  });

  it('uses a --judge model for conversation and win rate, with prompt hashes in metrics.json', async () => {
    const judge = new ScriptedModel();
    const replies: string[] = [];
    judge.answer = (s) => {
      const p = promptText(s.messages, false);
      const r = p.includes('Rating: N') ? 'Fine.\nRating: 5' : p.includes('[[A]]') ? 'A is better. [[A]]' : '?';
      replies.push(r);
      return r;
    };
    const r = await runSuite({
      suite: 'shapes',
      modelSpec: 'scripted',
      model,
      judgeSpec: 'judge-spec',
      judge,
      out: path.join(dir, 'judged'),
      seed: 3,
      limit: 4,
      resamples: 100,
    });
    const mm = r.metrics.benchmarks.find((e) => e.id === 'mmhal/captions');
    expect(mm?.headline.value).toBe(5);
    expect(mm?.rule).toBe('mmhal/judge:scripted');
    // the judge always says [[A]]: with both orders asked, every comparison is inconsistent → all ties
    const wr = r.metrics.benchmarks.find((e) => e.id === 'winrate/captions');
    expect(wr?.headline.value).toBe(0.5);
    expect(wr?.guards.tie_rate).toBe(1);
    expect(r.metrics.judge?.spec).toBe('judge-spec');
    expect(Object.keys(r.metrics.judge?.prompts ?? {})).toEqual(['mmhal', 'pairwise']);
    expect(r.metrics.judge?.prompts.mmhal).toMatch(/^[0-9a-f]{64}$/);
    // 4 ratings + 2 orders × 4 comparisons, minus the comparisons whose two answers are identical (both orders give
    // the same prompt, which the judge cache asks once): the even-indexed scripted captions equal the reference
    const caps = readFileSync(path.join(dir, 'judged', 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Sample)
      .filter((s) => s.task === 'caption');
    const same = caps.filter((s) => model.answer(s) === s.reference).length;
    expect(replies.length).toBe(4 + 2 * 4 - same);
  });

  it('resumes from the cache without new requests', async () => {
    const before = model.calls;
    const again = await runSuite({
      suite: 'shapes',
      modelSpec: 'scripted',
      model,
      out,
      seed: 3,
      limit: 6,
      resamples: 200,
    });
    expect(model.calls).toBe(before);
    expect(again.metrics.benchmarks.map((e) => e.headline.value)).toEqual(
      first.metrics.benchmarks.map((e) => e.headline.value),
    );
  });

  it('takes per-task sizes over the limit, and names a task it does not know', async () => {
    const r = await runSuite({
      suite: 'shapes',
      modelSpec: 'scripted',
      model: new ScriptedModel(),
      out: path.join(dir, 'limits'),
      seed: 3,
      limit: 6,
      limits: { pope: 12 },
      resamples: 50,
    });
    const n = (id: string) => r.metrics.benchmarks.find((b) => b.id === id)?.n;
    expect(n('pope/all')).toBe(12);
    expect(n('chair/captions')).toBe(6);
    await expect(
      runSuite({ suite: 'shapes', modelSpec: 'scripted', model, out: path.join(dir, 'bad'), limits: { popes: 3 } }),
    ).rejects.toThrow(/unknown shapes task in limits "popes"/);
  });
});
