import path from 'node:path';
import { lookup } from '../../util/table.ts';
import { resolveEvalModel } from './model.ts';
import { runSuite, SUITES } from './runner.ts';

/** The options of `mmalign eval run`, as commander hands them over. */
export interface SuiteCliOptions {
  suite: string;
  model: string;
  out?: string;
  judge?: string;
  reference?: string;
  limit?: number;
  seed: number;
  concurrency: number;
  data?: string[];
  images?: string;
  parser?: string;
}

/** `mmalign eval run`: resolve the model strings, run the suite, close the models, summarise. */
export async function runSuiteCli(o: SuiteCliOptions, log: (line: string) => void, onCached?: () => void) {
  lookup(SUITES, 'suite', o.suite);
  const out = o.out ?? path.join('runs', `eval-${o.suite}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const model = await resolveEvalModel(o.model, { concurrency: o.concurrency });
  const judge = o.judge ? await resolveEvalModel(o.judge, { concurrency: o.concurrency }) : undefined;
  const reference = o.reference ? await resolveEvalModel(o.reference, { concurrency: o.concurrency }) : undefined;
  log(`eval run: suite ${o.suite}, model ${model.id}${judge ? `, judge ${judge.id}` : ''} → ${out}`);
  try {
    const r = await runSuite({
      suite: o.suite,
      modelSpec: o.model,
      model,
      judgeSpec: o.judge,
      judge,
      referenceSpec: o.reference,
      reference,
      out,
      seed: o.seed,
      limit: o.limit,
      log,
      data: o.data,
      images: o.images,
      parser: o.parser,
      onCached,
    });
    const summary = Object.fromEntries(
      r.metrics.benchmarks.map((e) => [e.id, { [e.headline.name]: e.headline.value, ...e.guards }]),
    );
    return { ...r, summary };
  } finally {
    await model.close?.();
    await judge?.close?.();
    await reference?.close?.();
  }
}
