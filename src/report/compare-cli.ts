import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseRecord } from '../schema/validate.ts';
import { MmalignError } from '../util/errors.ts';
import { compareRuns, renderCompareReport } from './compare.ts';
import { renderRunReport } from './html.ts';
import { RunMetrics } from './metrics.ts';

/** File-system side of `eval compare` / `eval report`: read metrics.json files, write HTML. */

export function readRunMetrics(runOrFile: string): RunMetrics {
  const file =
    existsSync(runOrFile) && statSync(runOrFile).isDirectory() ? path.join(runOrFile, 'metrics.json') : runOrFile;
  if (!existsSync(file))
    throw new MmalignError('MMALIGN_NO_METRICS', `no metrics.json at ${file}`, {
      hint: 'pass a run directory written by `mmalign eval run`',
    });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new MmalignError('MMALIGN_BAD_JSON', `${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseRecord(RunMetrics, raw, { file });
}

export function compareRunsCli(runs: readonly string[], o: { out: string; resamples?: number }) {
  if (runs.length < 2) throw new MmalignError('MMALIGN_USAGE', 'compare needs at least two runs');
  const metrics = runs.map(readRunMetrics);
  const labels = runs.map((r, i) => `${i}:${path.basename(path.resolve(r)).replace(/\.json$/, '')}`);
  const c = compareRuns(metrics, labels, { resamples: o.resamples });
  writeFileSync(o.out, renderCompareReport(c));
  return {
    out: o.out,
    runs: c.runs,
    warnings: c.warnings,
    rows: c.rows.map((r) => ({
      id: r.id,
      headline: r.headline,
      values: r.cells.map((x) => x.value),
      tests: r.cells.map((x) =>
        x.test
          ? { test: x.test.test, metric: x.test.metric, delta: x.test.delta, p: x.test.pValue, n: x.test.paired }
          : null,
      ),
    })),
  };
}

export function rerenderReport(run: string): string {
  const m = readRunMetrics(run);
  const out = path.join(run, 'report.html');
  writeFileSync(out, renderRunReport(m));
  return out;
}
