import type { Command } from 'commander';
import { commandGroup } from '../group.ts';

/**
 * `mmalign train sft`: supervised fine-tuning of the embedded VLM on Sample records (prompt → reference).
 * Writes a checkpoint folder to --out (model.safetensors, config.json, tokenizer.json) and a resumable one to
 * --out/last every `checkpointEvery` steps; `--resume` continues from it.
 */
export function register(program: Command): void {
  commandGroup(program, 'train', 'Train the embedded VLM (SFT, preference objectives, reward model, GRPO)')
    .command('sft')
    .description('Supervised fine-tuning of the embedded VLM on Sample records (prompt → reference answer)')
    .requiredOption('--data <dir>', 'a folder with samples.jsonl + media/ (as `mmalign world` writes) or a JSONL file')
    .requiredOption('--out <dir>', 'checkpoint folder to write')
    .option('--config <file>', 'SFT config (YAML or JSON; any subset of SftConfig, see src/train/sft.ts)')
    .option('--steps <n>', 'override the config: optimisation steps')
    .option('--seed <n>', 'override the config: seed')
    .option('--resume', 'continue from <out>/last if it exists', false)
    .option('--eval-data <dir>', 'held-out samples for the eval loss (default: a share of --data)')
    .option(
      '--workers <n>',
      'data-parallel replicas on worker threads, each with a share of every batch (default: the number of cores; ' +
        '1 = all on the main thread)',
    )
    .option(
      '--hallucination <split>',
      'after training, greedy-decode the caption samples of this split of --data (e.g. test) and POPE questions and ' +
        'report recall, CHAIR-i/s, prior-partner vs control hallucination and POPE accuracy (written to ' +
        '<out>/eval.json); POPE is asked as the shapes suite asks it, on in-distribution held-out scenes of the ' +
        "world in --data's world.json (without one: the split's pope samples)",
    )
    .action(
      async (o: {
        data: string;
        out: string;
        config?: string;
        steps?: string;
        seed?: string;
        resume: boolean;
        evalData?: string;
        hallucination?: string;
        workers?: string;
      }) => {
        const { MmalignError } = await import('../../util/errors.ts');
        const { initTf } = await import('../../nn/tf.ts');
        const { SftConfig, loadSftData, trainSft } = await import('../../train/index.ts');
        const { createProgress } = await import('../progress.ts');
        const { readConfigFile, parseConfig } = await import('../config.ts');
        const raw = await readConfigFile(o.config);
        const int = (name: string, v: string) => {
          if (!/^\d+$/.test(v))
            throw new MmalignError('MMALIGN_BAD_OPTION', `--${name} must be an integer, got "${v}"`);
          return Number(v);
        };
        if (o.steps !== undefined) raw.steps = int('steps', o.steps);
        if (o.seed !== undefined) raw.seed = int('seed', o.seed);
        const { parseWorkers } = await import('../../train/parallel/index.ts');
        const workers = parseWorkers(o.workers);
        const config = parseConfig(SftConfig, raw, o.config, 'train sft');
        await initTf();
        const load = (dir: string) =>
          loadSftData(dir, { imageSize: config.model.imageSize, split: config.split, tasks: config.tasks });
        const data = await load(o.data);
        const evalData = o.evalData ? await load(o.evalData) : undefined;
        const skipped = Object.entries(data.skipped);
        process.stderr.write(
          `sft: ${data.examples.length} examples from ${data.file}` +
            (skipped.length ? ` (skipped: ${skipped.map(([k, v]) => `${v} ${k}`).join(', ')})` : '') +
            '\n',
        );
        // Ctrl-C stops after the current step and writes <out>/last, so `--resume` can continue
        const stop = new AbortController();
        const { interruptExitCode, interruptMessage, onGracefulStop } = await import('../interrupt.ts');
        const offStop = onGracefulStop(
          () => stop.abort(),
          'sft: stopping after the current step (Ctrl-C again to quit now)',
        );
        const bar = createProgress('sft', config.steps, { unit: 'step' });
        let done = 0;
        const result = await trainSft({
          config,
          train: data.examples,
          eval: evalData?.examples,
          outDir: o.out,
          resume: o.resume,
          signal: stop.signal,
          workers,
          data: { path: data.file, sha256: data.sha256, samples: data.examples.length },
          onProgress: (p) => {
            bar.tick(p.step - done, {
              loss: p.loss,
              ...(p.evalLoss !== undefined ? { eval: p.evalLoss } : {}),
              'tok/s': Math.round(p.tokensPerSec),
            });
            done = p.step;
          },
        });
        bar.stop();
        offStop();
        if (result.stopped) {
          process.stderr.write(
            `${interruptMessage({ done: result.steps, total: config.steps, unit: 'steps', rerun: 'rerun with --resume to continue from <out>/last' })}\n`,
          );
          process.exitCode = interruptExitCode();
        }
        const s = (n: number) => Number(n.toPrecision(4));
        let hallucination: unknown;
        if (o.hallucination && !result.stopped) {
          const { evaluateHallucination, inDistributionPope, loadWorldEval } = await import('../../train/sft-eval.ts');
          const { writeFile } = await import('node:fs/promises');
          const path = await import('node:path');
          const imageSize = config.model.imageSize;
          const pope = await inDistributionPope(o.data, { imageSize, perSplit: 300 });
          const ev = await loadWorldEval(o.data, {
            imageSize,
            split: o.hallucination,
            tasks: pope ? ['caption'] : ['caption', 'pope'],
            limitPerTask: 500,
          });
          if (pope) ev.samples.push(...pope.samples);
          const popeImages = pope
            ? `in-distribution held-out scenes (train statistics, seed ${pope.seed})`
            : `split ${o.hallucination} of --data`;
          if (ev.samples.length === 0) {
            throw new MmalignError(
              'MMALIGN_NO_DATA',
              `no caption/pope samples of split "${o.hallucination}" in ${o.data}`,
              {
                hint: 'generate them with `mmalign world --tasks caption,pope --split both`',
              },
            );
          }
          const report = evaluateHallucination(result.model, ev.samples, ev.priors);
          await writeFile(path.join(o.out, 'eval.json'), `${JSON.stringify({ ...report, popeImages }, null, 2)}\n`);
          const c = report.captions;
          hallucination = {
            imageGainNats: s(report.imageGainNats),
            captions: c.n,
            recall: s(c.recall),
            chairI: s(c.chairI),
            chairS: s(c.chairS),
            wellFormed: s(c.wellFormed),
            partnerRate: s(c.partner.rate),
            controlRate: s(c.control.rate),
            pPartnerVsControl: c.pPartnerVsControl,
            pope: Object.fromEntries(Object.entries(report.pope).map(([k, v]) => [k, s(v.accuracy)])),
            popeImages,
            yesToPartner: s(report.yesNoPrior.partner.rate),
            yesToControl: s(report.yesNoPrior.control.rate),
            pYesPartnerVsControl: report.yesNoPrior.p,
          };
        }
        process.stdout.write(
          `${JSON.stringify({
            out: o.out,
            parameters: result.parameters,
            steps: result.steps,
            stepsRun: result.stepsRun,
            resumedFrom: result.resumedFrom,
            stopped: result.stopped,
            wallSeconds: s(result.wallMs / 1000),
            cpuSeconds: s(result.cpuMs / 1000),
            tokensPerSec: Math.round(result.tokensPerSec),
            positionsPerSec: Math.round(result.positionsPerSec),
            finalLoss: s(result.finalLoss),
            evalLoss: s(result.evalLoss),
            ...(hallucination ? { hallucination } : {}),
          })}\n`,
        );
      },
    );
}
