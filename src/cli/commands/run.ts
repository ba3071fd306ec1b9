import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
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
      '--seeds <list>',
      "run the chain once per seed (comma-separated, e.g. 1,2,3,4,5) and aggregate them; default: the recipe's seeds:, else its seed:",
      parseSeeds,
    )
    .option(
      '--workers <n>',
      'worker threads for SFT, sampling and the methods (run side by side); default: the number of cores. The numbers are the same for any value',
    )
    .action(async (file: string, opts: { quick?: boolean; out?: string; seeds?: number[]; workers?: string }) => {
      const { loadRecipe, runRecipe, runRecipeSeeds } = await import('../../recipe/index.ts');
      const { parseWorkers, setSamplingWorkers } = await import('../../train/parallel/index.ts');
      const workers = parseWorkers(opts.workers);
      setSamplingWorkers(workers);
      const recipe = loadRecipe(file, { quick: opts.quick });
      const out = opts.out ?? recipe.out ?? path.join('runs', `${recipe.name}${opts.quick ? '-quick' : ''}`);
      const t0 = Date.now();
      let bar: { stage: string; p: Progress } | undefined;
      const seeds = opts.seeds ?? recipe.seeds;
      // stages are cached as they finish: an interrupted run resumes from the last finished one
      let stagesDone = 0;
      const { setInterruptStatus } = await import('../interrupt.ts');
      setInterruptStatus(() => ({ done: stagesDone, unit: 'stages' }));
      const events = {
        stage: (name: string, state: 'start' | 'cached' | 'done', seconds?: number) => {
          if (state === 'start') return;
          stagesDone++;
          bar?.p.stop();
          bar = undefined;
          process.stderr.write(
            `[${((Date.now() - t0) / 1000).toFixed(0)}s] ${name}: ${state === 'cached' ? 'cached' : `done in ${seconds?.toFixed(1)} s`}\n`,
          );
        },
        progress: (stage: string, done: number, total: number, info?: Record<string, number>) => {
          if (bar?.stage !== stage) {
            bar?.p.stop();
            bar = { stage, p: createProgress(stage, total, { intervalMs: 10_000 }) };
          }
          bar.p.update(done, info);
        },
        seed: (seed: number) => {
          bar?.p.stop();
          bar = undefined;
          process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] seed ${seed}\n`);
        },
      };
      const result = seeds
        ? await runRecipeSeeds(recipe, seeds, { out, events, workers })
        : await runRecipe(recipe, { out, events, workers });
      bar?.p.stop();
      process.stdout.write(
        `\n${result.table}\n\nreport: ${result.reportPath}\nmetrics: ${result.metricsPath}\ntotal: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
      );
    });
}

/** `--seeds 1,2,3`: distinct integers, at least one. */
function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  const seeds = parts.map(Number);
  if (parts.length === 0 || parts.some((p) => !/^-?\d+$/.test(p)))
    throw new InvalidArgumentError(`"${value}" is not a comma-separated list of integer seeds (e.g. 1,2,3)`);
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError(`seeds repeat in "${value}"`);
  return seeds;
}
