import type { Command } from 'commander';
import { POPE_PARSER_NAMES } from '../../eval/pope.ts';
import { UNPARSED_POLICIES } from '../../eval/reward.ts';
import type { SuiteCliOptions } from '../../eval/run/cli-run.ts';
import { SUITE_INFO } from '../../eval/run/suites.ts';
import { ASR_DENOMINATORS } from '../../eval/safety.ts';
import { commandGroup } from '../group.ts';

// light tables only (no tfjs / world / report imports at registration)
const list = (t: Record<string, unknown> | readonly string[]) => (Array.isArray(t) ? t : Object.keys(t)).join(' | ');

/**
 * `mmalign eval`: score benchmark files exactly as the reference code does (`eval score <benchmark>`), run a suite
 * against a model (`eval run`), and compare runs with paired significance tests (`eval compare`).
 * Scorers print JSON on stdout; progress and notes go to stderr.
 */

const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

export function register(program: Command): void {
  const ev = commandGroup(program, 'eval', "Evaluate models along the survey's six dimensions; score benchmark files");
  const score = ev
    .command('score')
    .description("Score a benchmark's answer files with the reference rules; prints JSON");

  score
    .command('pope')
    .description('POPE yes/no object probing: accuracy, precision, recall, F1 (yes = positive), yes-ratio')
    .requiredOption(
      '--questions <files...>',
      'POPE question/label JSONL file(s) (question_id, text, label[, category])',
    )
    .requiredOption(
      '--answers <files...>',
      'answer JSONL file(s) (question_id, text|answer); one per questions file, or one for all',
    )
    .option('--parser <name>', `parsing rule: ${list(POPE_PARSER_NAMES)} (pope = the original POPE/LLaVA rule)`, 'pope')
    .option('--ci', 'add a 95% bootstrap interval for accuracy')
    .action(async (o: { questions: string[]; answers: string[]; parser: string; ci?: boolean }) => {
      const { scorePopeFiles } = await import('../../eval/score-files.ts');
      print(scorePopeFiles(o));
    });

  score
    .command('chair')
    .description('CHAIRs / CHAIRi / recall of captions against ground-truth objects (COCO synonym list)')
    .requiredOption('--captions <file>', 'JSONL lines {"image_id", "caption", "objects": [...]}')
    .option('--synonyms <file>', 'synonym list (default: the original CHAIR list in data/benchmarks)')
    .option('--synonyms-variant <name>', 'original (reference quirks) or cleaned', 'original')
    .option('--per-caption', 'list the hallucinated objects of every caption')
    .action(async (o: { captions: string; synonyms?: string; synonymsVariant: string; perCaption?: boolean }) => {
      const { scoreChairFile } = await import('../../eval/score-files.ts');
      print(scoreChairFile({ ...o, variant: o.synonymsVariant }));
    });

  score
    .command('amber')
    .description('AMBER discriminative (and, given relation.json, generative) metrics as AMBER inference.py')
    .requiredOption('--responses <file>', 'JSON array or JSONL of {"id", "response"}')
    .option('--annotations <file>', 'AMBER data/annotations.json (default: the copy in data/benchmarks)')
    .option('--relation <file>', 'AMBER data/relation.json: enables the generative metrics')
    .option('--safe-words <file>', 'AMBER data/safe_words.txt')
    .option('--similarity-table <file>', 'JSON {"word\\tword": similarity} precomputed with spaCy en_core_web_lg')
    .option('--threshold <x>', 'similarity threshold', (v) => Number(v), 0.8)
    .action(
      async (o: {
        responses: string;
        annotations?: string;
        relation?: string;
        safeWords?: string;
        similarityTable?: string;
        threshold: number;
      }) => {
        const { scoreAmberFiles } = await import('../../eval/score-files.ts');
        print(scoreAmberFiles(o));
      },
    );

  score
    .command('mmhal')
    .description('MMHal-Bench from judge replies: average score, hallucination rate (score < 3), per type')
    .requiredOption('--judgements <file>', 'JSONL lines {"question_type", "judgement"}')
    .action(async (o: { judgements: string }) => {
      const { scoreMmhalFile } = await import('../../eval/score-files.ts');
      print(scoreMmhalFile(o));
    });

  score
    .command('reward')
    .description('Reward-model / judge pairs: overall (micro) and macro accuracy, ACC+')
    .requiredOption('--pairs <file>', 'JSONL lines {"id", "category", "gold", "pred"|"judgement"[, "group"]}')
    .option('--unparsed <policy>', list(UNPARSED_POLICIES), 'exclude')
    .option('--verdict <parser>', 'how to read "judgement": none | vlreward | bracket', 'none')
    .action(async (o: { pairs: string; unparsed: string; verdict: string }) => {
      const { scoreRewardFile } = await import('../../eval/score-files.ts');
      print(scoreRewardFile(o));
    });

  score
    .command('mc')
    .description('Multiple choice with CircularEval (MMBench)')
    .requiredOption('--answers <file>', 'JSONL lines {"question", "rotation", "options", "answer", "gold"}')
    .action(async (o: { answers: string }) => {
      const { scoreMcFile } = await import('../../eval/score-files.ts');
      print(scoreMcFile(o));
    });

  score
    .command('math')
    .description('MathVista-style answer extraction, normalisation and accuracy')
    .requiredOption(
      '--answers <file>',
      'JSONL lines {"response", "question_type", "answer_type", "answer", "choices", "precision"}',
    )
    .action(async (o: { answers: string }) => {
      const { scoreMathFile } = await import('../../eval/score-files.ts');
      print(scoreMathFile(o));
    });

  score
    .command('safety')
    .description('Attack success rate on harmful prompts and over-refusal on benign ones')
    .requiredOption('--answers <file>', 'JSONL lines {"should_refuse", "response"[, "label"|"judgement"]}')
    .option(
      '--denominator <name>',
      `${list(ASR_DENOMINATORS)} (all = unsafe/all, judged = unsafe/(safe+unsafe))`,
      'all',
    )
    .action(async (o: { answers: string; denominator: string }) => {
      const { scoreSafetyFile } = await import('../../eval/score-files.ts');
      print(scoreSafetyFile(o));
    });

  ev.command('run')
    .description('Run an evaluation suite against a model; writes responses (cached), metrics.json and report.html')
    .requiredOption(
      '--suite <name>',
      Object.entries(SUITE_INFO)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; '),
    )
    .requiredOption(
      '--model <model>',
      'checkpoint folder (embedded:PATH), openai:MODEL@URL, vllm:MODEL@URL or http(s)://HOST/v1 (see src/models/registry.ts)',
    )
    .option('--out <dir>', 'run directory (default: runs/eval-<suite>-<time>)')
    .option('--judge <model>', 'judge model for judged benchmarks (same forms as --model)')
    .option(
      '--reference <model>',
      'reference model for the win-rate benchmark (default: the dataset reference answers)',
    )
    .option('--limit <n>', "items per task (default: the suite's own sizes)", (v) => Number(v))
    .option('--seed <n>', 'suite and bootstrap seed', (v) => Number(v), 0)
    .option('--concurrency <n>', 'requests in flight', (v) => Number(v), 4)
    .option(
      '--data <files...>',
      'file-based suites: POPE question files, AMBER query file [annotations], MMHal response_template.json, or reward pairs JSONL',
    )
    .option('--images <dir>', "file-based suites: the benchmark's image folder")
    .option('--parser <name>', `pope suite: ${list(POPE_PARSER_NAMES)}`, 'pope')
    .option(
      '--workers <n>',
      'embedded model: generation split across replicas on worker threads (default: the number of cores)',
    )
    .action(async ({ workers, ...o }: SuiteCliOptions & { workers?: string }) => {
      const { parseWorkers, setSamplingWorkers } = await import('../../train/parallel/index.ts');
      setSamplingWorkers(parseWorkers(workers));
      const { runSuiteCli } = await import('../../eval/run/cli-run.ts');
      // Ctrl-C: every finished request is already in the run's caches; metrics.json and report.html come at the end
      const { setInterruptStatus } = await import('../interrupt.ts');
      let cached = 0;
      setInterruptStatus(() => ({
        done: cached,
        unit: 'requests',
        verb: 'written to the cache',
        rerun: 'rerun the same command to resume (metrics.json and report.html are written when the run completes)',
      }));
      const res = await runSuiteCli(
        o,
        (line) => process.stderr.write(`${line}\n`),
        () => cached++,
      );
      print({ out: res.out, metrics: res.metricsPath, report: res.reportPath, summary: res.summary });
    });

  ev.command('compare')
    .description('Compare runs side by side with paired significance tests; writes an HTML report')
    .argument('<runs...>', 'run directories (or metrics.json files) to compare; the first is the baseline')
    .option('--out <file>', 'HTML output file', 'compare.html')
    .option('--resamples <n>', 'bootstrap resamples', (v) => Number(v), 1000)
    .action(async (runs: string[], o: { out: string; resamples: number }) => {
      const { compareRunsCli } = await import('../../report/compare-cli.ts');
      const res = compareRunsCli(runs, o);
      print(res);
    });

  ev.command('report')
    .description("Re-render report.html from a run directory's metrics.json")
    .argument('<run>', 'run directory')
    .action(async (run: string) => {
      const { rerenderReport } = await import('../../report/compare-cli.ts');
      print({ report: rerenderReport(run) });
    });
}
