import path from 'node:path';
import type { Command } from 'commander';
import { createProgress, type Progress } from '../progress.ts';

export const DEFAULT_RECIPE = 'recipes/shapes-hallucination.yaml';

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'Run a recipe (world → SFT → preference sets → alignment methods → eval → report); stages are cached, so a rerun skips finished work and a killed run resumes',
    )
    .argument('[recipe]', 'recipe YAML', DEFAULT_RECIPE)
    .option('--quick', "merge the recipe's quick: block (tiny sizes, for a smoke test)")
    .option('--out <dir>', 'run directory (default: runs/<recipe name>[-quick])')
    .option(
      '--workers <n>',
      'replicas on worker threads for training, sampling and evaluation (default: the number of cores)',
    )
    .action(async (file: string, opts: { quick?: boolean; out?: string; workers?: string }) => {
      const { loadRecipe, runRecipe } = await import('../../recipe/index.ts');
      const { parseWorkers, setSamplingWorkers } = await import('../../train/parallel/index.ts');
      const workers = parseWorkers(opts.workers);
      setSamplingWorkers(workers);
      const recipe = loadRecipe(file, { quick: opts.quick });
      const out = opts.out ?? recipe.out ?? path.join('runs', `${recipe.name}${opts.quick ? '-quick' : ''}`);
      const t0 = Date.now();
      let bar: { stage: string; p: Progress } | undefined;
      const result = await runRecipe(recipe, {
        out,
        workers,
        events: {
          stage: (name, state, seconds) => {
            if (state === 'start') return;
            bar?.p.stop();
            bar = undefined;
            process.stderr.write(
              `[${((Date.now() - t0) / 1000).toFixed(0)}s] ${name}: ${state === 'cached' ? 'cached' : `done in ${seconds?.toFixed(1)} s`}\n`,
            );
          },
          progress: (stage, done, total, info) => {
            if (bar?.stage !== stage) {
              bar?.p.stop();
              bar = { stage, p: createProgress(stage, total, { intervalMs: 10_000 }) };
            }
            bar.p.update(done, info);
          },
        },
      });
      bar?.p.stop();
      process.stdout.write(
        `\n${result.table}\n\nreport: ${result.reportPath}\nmetrics: ${result.metricsPath}\ntotal: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
      );
    });
}
