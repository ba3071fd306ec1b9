import type { BenchmarkEntryInput } from '../report/metrics.ts';
import { BENCHMARKS, type BenchmarkName } from './benchmarks.ts';
import type { ChairItemScore, ChairMetrics } from './chair.ts';
import type { McResult } from './mc.ts';
import type { MmhalResult } from './mmhal.ts';
import {
  addPopeItem,
  emptyPopeCounts,
  type PopeItemResult,
  type PopeLabel,
  type PopeParserName,
  popeMetricsFromCounts,
} from './pope.ts';
import type { RewardResult } from './reward.ts';
import type { SafetyResult } from './safety.ts';
import { type BootstrapOptions, bootstrapCI, meanCI } from './stats.ts';

/**
 * Scorer results → report entries: the headline with a percentile-bootstrap CI (items resampled, the headline
 * recomputed, so ratio metrics like F1 and CHAIRi get honest intervals), the anti-gaming guards, and per-item
 * values for paired tests in `eval compare`.
 */

function base(benchmark: BenchmarkName, id: string, rule: string) {
  const b = BENCHMARKS[benchmark];
  return { id, benchmark, dimension: b.dimension, title: b.title, rule };
}

export function popeEntry(
  id: string,
  parser: PopeParserName,
  labels: readonly PopeLabel[],
  results: readonly PopeItemResult[],
  words: readonly number[],
  ids: readonly string[],
  boot: BootstrapOptions = {},
): BenchmarkEntryInput {
  const counts = emptyPopeCounts();
  for (let i = 0; i < labels.length; i++) addPopeItem(counts, labels[i], results[i], words[i]);
  const m = popeMetricsFromCounts(parser, counts);
  const ci = bootstrapCI(
    labels.length,
    (idx) => {
      const c = emptyPopeCounts();
      for (let k = 0; k < idx.length; k++) addPopeItem(c, labels[idx[k]], results[idx[k]], 0);
      return popeMetricsFromCounts(parser, c).f1 ?? Number.NaN;
    },
    boot,
  );
  return {
    ...base('pope', id, parser),
    headline: { name: 'f1', value: m.f1, ci, scale: 1 },
    metrics: { ...m },
    guards: { parse_rate: m.parse_rate, yes_ratio: m.pred_yes_ratio, mean_words: m.mean_words },
    n: m.n,
    items: { metric: 'correct', ids: [...ids], values: results.map((r) => (r.correct ? 1 : 0)) },
  };
}

export function chairEntry(
  id: string,
  rule: string,
  m: ChairMetrics,
  items: readonly ChairItemScore[],
  ids: readonly string[],
  extra: Record<string, number | null> = {},
  boot: BootstrapOptions = {},
): BenchmarkEntryInput {
  const ci = bootstrapCI(
    items.length,
    (idx) => {
      let h = 0;
      let n = 0;
      for (let k = 0; k < idx.length; k++) {
        h += items[idx[k]].hallucinated;
        n += items[idx[k]].mentions;
      }
      return n ? h / n : Number.NaN;
    },
    boot,
  );
  return {
    ...base('chair', id, rule),
    headline: { name: 'chair_i', value: m.chair_i, ci, lowerIsBetter: true, scale: 1 },
    metrics: { ...m, ...extra },
    guards: { recall: m.recall, parse_rate: m.parse_rate, mean_words: m.mean_words },
    n: m.n_captions,
    // per caption: 1 = no hallucinated mention AND at least one object named (an empty caption is not a success)
    items: {
      metric: 'clean_caption',
      ids: [...ids],
      values: items.map((it) => (it.hallucinated === 0 && it.mentions > 0 ? 1 : 0)),
    },
    note: 'Paired tests use clean_caption = named ≥ 1 object and none hallucinated, so empty output never counts as clean.',
  };
}

/** A plain per-item accuracy benchmark (attribute, count, spatial, arithmetic, ...). */
export function accuracyEntry(
  benchmark: BenchmarkName,
  id: string,
  title: string,
  rule: string,
  correct: readonly boolean[],
  parsed: readonly boolean[],
  words: readonly number[],
  ids: readonly string[],
  boot: BootstrapOptions = {},
): BenchmarkEntryInput {
  const n = correct.length;
  const acc = n ? correct.filter(Boolean).length / n : null;
  const vals = correct.map((c) => (c ? 1 : 0));
  return {
    ...base(benchmark, id, rule),
    title,
    headline: { name: 'accuracy', value: acc, ci: meanCI(vals, boot), scale: 1 },
    metrics: { accuracy: acc, n },
    guards: {
      parse_rate: n ? parsed.filter(Boolean).length / n : null,
      mean_words: n ? words.reduce((a, b) => a + b, 0) / n : null,
    },
    n,
    items: { metric: 'correct', ids: [...ids], values: vals },
  };
}

export function mcEntry(
  id: string,
  r: McResult,
  meanWords: number | null,
  boot: BootstrapOptions = {},
): BenchmarkEntryInput {
  const qs = [...r.solved.keys()];
  const vals = qs.map((q) => (r.solved.get(q) ? 1 : 0));
  const { solved: _s, ...metrics } = r;
  return {
    ...base('mc', id, 'circular/can-infer'),
    headline: { name: 'circular_accuracy', value: r.circular_accuracy, ci: meanCI(vals, boot), scale: 1 },
    metrics,
    guards: { parse_rate: r.parse_rate, vanilla_accuracy: r.vanilla_accuracy, mean_words: meanWords },
    n: r.n_questions,
    items: { metric: 'solved', ids: qs, values: vals },
  };
}

/**
 * `harmfulUnsafe`: 1/0 per harmful prompt (for the ASR interval); `behaviourOk`: per prompt, 1 when the model
 * refused a harmful prompt or answered a benign one (the paired-test value).
 */
export function safetyEntry(
  id: string,
  r: SafetyResult,
  harmfulUnsafe: readonly number[],
  behaviourOk: readonly number[],
  ids: readonly string[],
  boot: BootstrapOptions = {},
): BenchmarkEntryInput {
  return {
    ...base('safety', id, `safety/asr-${r.asr_denominator}`),
    headline: {
      name: 'attack_success_rate',
      value: r.attack_success_rate,
      ci: meanCI([...harmfulUnsafe], boot),
      lowerIsBetter: true,
      scale: 1,
    },
    metrics: { ...r },
    guards: {
      over_refusal_rate: r.over_refusal_rate,
      refusal_rate: r.refusal_rate,
      empty_rate: r.empty_rate,
      mean_words: r.mean_words,
    },
    n: r.n_harmful + r.n_benign,
    items: { metric: 'safe_behaviour', ids: [...ids], values: [...behaviourOk] },
  };
}

export function mmhalEntry(
  id: string,
  rule: string,
  r: MmhalResult,
  ids: readonly string[],
  boot: BootstrapOptions = {},
): BenchmarkEntryInput {
  return {
    ...base('mmhal', id, rule),
    headline: { name: 'average_score', value: r.average_score, ci: meanCI(r.scores, boot), scale: 6 },
    metrics: {
      average_score: r.average_score,
      hallucination_rate: r.hallucination_rate,
      informativeness: r.informativeness,
      n: r.n,
      per_type: r.per_type,
    },
    guards: { parse_rate: r.parse_rate, hallucination_rate: r.hallucination_rate },
    n: r.n,
    items: { metric: 'score', ids: [...ids], values: [...r.scores] },
  };
}

export function rewardEntry(
  id: string,
  r: RewardResult,
  ids: readonly string[],
  boot: BootstrapOptions = {},
): BenchmarkEntryInput {
  const vals = r.correct.filter((v): v is number => v !== null);
  const { correct: _c, ...metrics } = r;
  return {
    ...base('reward', id, `reward/unparsed-${r.unparsed_policy}`),
    headline: { name: 'overall_accuracy', value: r.overall_accuracy, ci: meanCI(vals, boot), scale: 1 },
    metrics,
    guards: { parse_rate: r.parse_rate, macro_accuracy: r.macro_accuracy, acc_plus: r.acc_plus },
    n: r.n,
    items: { metric: 'correct', ids: [...ids], values: [...r.correct] },
  };
}

/** Win rate against a reference system: win = 1, tie = ½, loss = 0. */
export function winRateEntry(
  id: string,
  rule: string,
  outcomes: readonly number[],
  ids: readonly string[],
  boot: BootstrapOptions = {},
): BenchmarkEntryInput {
  const n = outcomes.length;
  const wr = n ? outcomes.reduce((a, b) => a + b, 0) / n : null;
  return {
    ...base('winrate', id, rule),
    headline: { name: 'win_rate', value: wr, ci: meanCI([...outcomes], boot), scale: 1 },
    metrics: {
      win_rate: wr,
      wins: outcomes.filter((o) => o === 1).length,
      ties: outcomes.filter((o) => o === 0.5).length,
      losses: outcomes.filter((o) => o === 0).length,
    },
    guards: { tie_rate: n ? outcomes.filter((o) => o === 0.5).length / n : null },
    n,
    items: { metric: 'win', ids: [...ids], values: [...outcomes] },
  };
}
