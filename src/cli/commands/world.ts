import type { Command } from 'commander';
import { UnknownNameError } from '../../util/errors.ts';
import { TASKS } from '../../world/tasks.ts';
import { intOption } from '../options.ts';

/**
 * `mmalign world`: generate ShapeWorld scenes and task samples. Writes DIR/samples.jsonl (all tasks and splits in one
 * file; each record has `task` and `split`), DIR/media/<sha[0:2]>/<sha>.png and DIR/world.json (config, seed,
 * counts, sha256 of outputs; written last, so its presence means the run completed).
 */

const SPLIT_CHOICES = ['train', 'test', 'both'] as const;

export function register(program: Command): void {
  // Help lists the task table; the world modules are light (pure JS + pngjs), so importing them eagerly is fine.
  program
    .command('world')
    .description('Generate ShapeWorld: seeded synthetic scenes with exact ground truth and task samples')
    .requiredOption('--out <dir>', 'output directory (samples.jsonl, media/, world.json)')
    .option('--n <count>', 'samples per task and per split', intOption('n', 1, 10_000_000), 100)
    .option(
      '--seed <int>',
      'seed: the same seed and config give byte-identical files',
      intOption('seed', 0, 2 ** 32 - 1),
      0,
    )
    .option('--tasks <list>', 'comma-separated tasks (default: all); run `mmalign world --help` to list them')
    .option('--size <px>', 'image side in pixels (32–64; overrides the config file)', intOption('size', 32, 64))
    .option('--split <split>', `which split(s): ${SPLIT_CHOICES.join(' | ')}`, 'train')
    .option('--config <file>', 'world config (YAML or JSON; any subset of WorldConfig, see src/world/config.ts)')
    .addHelpText('after', () => {
      const w = Math.max(...Object.keys(TASKS).map((k) => k.length));
      return `\nTasks:\n${Object.entries(TASKS)
        .map(([k, v]) => `  ${k.padEnd(w)}  ${v.description}`)
        .join('\n')}\n`;
    })
    .action(
      async (o: {
        out: string;
        n: number;
        seed: number;
        tasks?: string;
        size?: number;
        split: string;
        config?: string;
      }) => {
        const { parseWorldConfig, resolveTasks } = await import('../../world/index.ts');
        const { createProgress } = await import('../progress.ts');
        if (!(SPLIT_CHOICES as readonly string[]).includes(o.split))
          throw new UnknownNameError('split', o.split, SPLIT_CHOICES, { hint: 'see --help for --split' });
        const tasks = resolveTasks(
          o.tasks
            ?.split(',')
            .map((t) => t.trim())
            .filter(Boolean),
        );
        const { readConfigFile } = await import('../config.ts');
        let raw: unknown = await readConfigFile(o.config);
        if (o.size !== undefined && typeof raw === 'object' && raw !== null) raw = { ...raw, imageSize: o.size };
        const config = parseWorldConfig(raw, o.config);
        const splits = o.split === 'both' ? (['train', 'test'] as const) : ([o.split] as ['train'] | ['test']);
        const started = Date.now();
        const total = tasks.length * splits.length * o.n;
        const progress = createProgress('world', total, { unit: 'samples' });
        const { runWorld } = await import('../world-run.ts');
        const r = await runWorld(
          { config, opts: { seed: o.seed, n: o.n, outDir: o.out, tasks, splits } },
          total,
          (done) => progress.update(done),
          () => progress.stop(),
        );
        progress.stop();
        if (r.interrupted !== undefined) {
          process.exitCode = r.interrupted;
          return;
        }
        const m = r.manifest as NonNullable<typeof r.manifest>;
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        process.stdout.write(
          `wrote ${m.files['samples.jsonl'].lines} samples (${tasks.join(', ')}; ${splits.join(' + ')}; ${o.n} per task per split) and ${m.files.media.images} images to ${o.out} in ${secs} s\n`,
        );
      },
    );
}
