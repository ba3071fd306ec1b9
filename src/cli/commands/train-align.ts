import type { Command } from 'commander';
import type { z } from 'zod';
import { OBJECTIVES } from '../../objectives/registry.ts';
import { commandGroup } from '../group.ts';

/**
 * `mmalign train pref | rm | grpo`: preference optimisation with any offline objective of the table, reward-model
 * training, and online GRPO / RLOO on the embedded VLM. Each reads an optional YAML/JSON config (flags override it),
 * writes a checkpoint folder to --out plus a resumable <out>/last and <out>/metrics.jsonl, shows progress on stderr
 * and prints a one-line JSON summary on stdout.
 */

const offline = Object.entries(OBJECTIVES)
  .filter(([n, e]) => e.data !== 'groups' && e.data !== 'rollouts' && n !== 'bt')
  .map(([n]) => n);

async function readConfig(file: string | undefined): Promise<Record<string, unknown>> {
  const { readConfigFile } = await import('../config.ts');
  return readConfigFile(file);
}

async function num(flag: string, v: string | undefined, int = false): Promise<number | undefined> {
  if (v === undefined) return undefined;
  const { MmalignError } = await import('../../util/errors.ts');
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)))
    throw new MmalignError('MMALIGN_BAD_OPTION', `--${flag} must be ${int ? 'an integer' : 'a number'}, got "${v}"`);
  return n;
}

/** `--param k=v` pairs: numbers, booleans, or JSON (for `weights`). */
function collectParam(v: string, prev: Record<string, unknown>): Record<string, unknown> {
  const i = v.indexOf('=');
  if (i < 1) throw new Error(`--param needs key=value, got "${v}"`);
  const key = v.slice(0, i);
  const raw = v.slice(i + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // keep as string
  }
  return { ...prev, [key]: value };
}

async function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  file: string | undefined,
  command: string,
): Promise<z.output<S>> {
  const { parseConfig: parse } = await import('../config.ts');
  return parse(schema, raw, file, command);
}

/** What the `interrupted:` line says for a training command: steps done of the total, and how to go on. */
async function stepsOnInterrupt(done: () => number, total: number, rerun: string): Promise<void> {
  const { setInterruptStatus } = await import('../interrupt.ts');
  setInterruptStatus(() => ({ done: done(), total, unit: 'steps', verb: 'done', rerun }));
}

const s4 = (n: number) => (Number.isFinite(n) ? Number(n.toPrecision(4)) : null);

export function register(program: Command): void {
  const train = commandGroup(
    program,
    'train',
    'Train the embedded VLM (SFT, preference objectives, reward model, GRPO)',
  );

  train
    .command('pref')
    .description('Offline preference optimisation of an embedded checkpoint with one objective of the table')
    .requiredOption('--objective <name>', `objective: ${offline.join(', ')}`)
    .requiredOption('--data <path>', 'folder with preferences.jsonl + media/, or a JSONL file of Preference records')
    .requiredOption('--model <dir>', 'starting checkpoint (also the frozen reference)')
    .requiredOption('--out <dir>', 'checkpoint folder to write')
    .option('--config <file>', 'PrefConfig (YAML or JSON, see src/train/pref.ts); flags override it')
    .option('--steps <n>', 'optimisation steps')
    .option('--beta <x>', 'β (default: the objective’s)')
    .option('--lr <x>', 'peak learning rate')
    .option('--batch-size <n>', 'pairs per step')
    .option('--seed <n>', 'seed of data order and held-out split')
    .option('--param <key=value>', 'objective parameter, repeatable (e.g. label_smoothing=0.1)', collectParam, {})
    .option('--eval-data <path>', 'held-out preferences (default: a share of --data)')
    .option('--resume', 'continue from <out>/last', false)
    .option('--workers <n>', 'data-parallel replicas on worker threads (default: the number of cores)')
    .action(
      async (o: {
        objective: string;
        data: string;
        model: string;
        out: string;
        config?: string;
        steps?: string;
        beta?: string;
        lr?: string;
        batchSize?: string;
        seed?: string;
        param: Record<string, unknown>;
        evalData?: string;
        resume: boolean;
        workers?: string;
      }) => {
        const { getObjective } = await import('../../objectives/index.ts');
        getObjective(o.objective);
        const raw = await readConfig(o.config);
        raw.objective = o.objective;
        const steps = await num('steps', o.steps, true);
        const beta = await num('beta', o.beta);
        const lr = await num('lr', o.lr);
        const bs = await num('batch-size', o.batchSize, true);
        const seed = await num('seed', o.seed, true);
        if (steps !== undefined) raw.steps = steps;
        if (beta !== undefined) raw.beta = beta;
        if (bs !== undefined) raw.batchSize = bs;
        if (seed !== undefined) raw.seed = seed;
        if (lr !== undefined) raw.optim = { ...((raw.optim as object) ?? {}), lr };
        if (Object.keys(o.param).length) raw.params = { ...((raw.params as object) ?? {}), ...o.param };
        const { PrefConfig, trainPreference } = await import('../../train/pref.ts');
        const { parseWorkers } = await import('../../train/parallel/index.ts');
        const workers = parseWorkers(o.workers);
        const { loadPrefData } = await import('../../train/pref-data.ts');
        const config = await parseConfig(PrefConfig, raw, o.config, 'train pref');
        const { initTf, loadCheckpoint } = await import('../../nn/index.ts');
        await initTf();
        const model = await loadCheckpoint(o.model);
        const data = await loadPrefData(o.data, { imageSize: model.config.imageSize });
        const evalData = o.evalData ? await loadPrefData(o.evalData, { imageSize: model.config.imageSize }) : undefined;
        const skipped = Object.entries(data.skipped);
        process.stderr.write(
          `pref: ${data.examples.length} preferences from ${data.file}` +
            (skipped.length ? ` (skipped: ${skipped.map(([k, v]) => `${v} ${k}`).join(', ')})` : '') +
            '\n',
        );
        const { createProgress } = await import('../progress.ts');
        let refBar: ReturnType<typeof createProgress> | undefined;
        let refDone = 0;
        const bar = createProgress(`pref ${config.objective}`, config.steps, { unit: 'step' });
        let done = 0;
        await stepsOnInterrupt(
          () => done,
          config.steps,
          'rerun with --resume to continue from the last checkpoint (<out>/last)',
        );
        const result = await trainPreference({
          config,
          model,
          train: data.examples,
          eval: evalData?.examples,
          outDir: o.out,
          resume: o.resume,
          workers,
          data: { path: data.file, sha256: data.sha256, samples: data.examples.length },
          onReference: (d, t) => {
            refBar ??= createProgress('reference log-probs', t, { unit: 'ex' });
            refBar.tick(d - refDone);
            refDone = d;
            if (d === t) refBar.stop();
          },
          onProgress: (p) => {
            const m = p.metrics;
            bar.tick(p.step - done, {
              loss: p.loss,
              ...(m['logps/chosen_shift'] !== undefined ? { shift: m['logps/chosen_shift'] } : {}),
              ...(p.eval ? { 'eval acc': p.eval.accuracy } : {}),
            });
            done = p.step;
          },
        });
        bar.stop();
        process.stdout.write(
          `${JSON.stringify({
            out: o.out,
            objective: config.objective,
            stepsRun: result.stepsRun,
            lastStep: result.lastStep,
            bestStep: result.bestStep,
            stoppedEarly: result.stoppedEarly,
            wallSeconds: s4(result.wallMs / 1000),
            referenceFromCache: result.referenceFromCache,
            before: {
              accuracy: s4(result.before.accuracy),
              loss: s4(result.before.loss),
              chosenShift: s4(result.before.chosenShift),
            },
            after: {
              accuracy: s4(result.after.accuracy),
              loss: s4(result.after.loss),
              chosenShift: s4(result.after.chosenShift),
            },
          })}\n`,
        );
      },
    );

  train
    .command('rm')
    .description(
      'Train a reward model (scalar head on the embedded VLM) with the Bradley–Terry loss on preference pairs',
    )
    .requiredOption('--data <path>', 'folder with preferences.jsonl + media/, or a JSONL file of Preference records')
    .requiredOption('--model <dir>', 'starting checkpoint (the body of the reward model)')
    .requiredOption('--out <dir>', 'reward-model folder to write (checkpoint + reward_head.safetensors)')
    .option('--config <file>', 'RmConfig (YAML or JSON, see src/train/rm.ts); flags override it')
    .option('--steps <n>', 'optimisation steps')
    .option('--lr <x>', 'peak learning rate')
    .option('--batch-size <n>', 'pairs per step')
    .option('--seed <n>', 'seed')
    .option('--eval-data <path>', 'held-out preferences (default: a share of --data)')
    .action(
      async (o: {
        data: string;
        model: string;
        out: string;
        config?: string;
        steps?: string;
        lr?: string;
        batchSize?: string;
        seed?: string;
        evalData?: string;
      }) => {
        const raw = await readConfig(o.config);
        const steps = await num('steps', o.steps, true);
        const lr = await num('lr', o.lr);
        const bs = await num('batch-size', o.batchSize, true);
        const seed = await num('seed', o.seed, true);
        if (steps !== undefined) raw.steps = steps;
        if (bs !== undefined) raw.batchSize = bs;
        if (seed !== undefined) raw.seed = seed;
        if (lr !== undefined) raw.optim = { ...((raw.optim as object) ?? {}), lr };
        const { RmConfig, trainRewardModel } = await import('../../train/rm.ts');
        const { loadPrefData } = await import('../../train/pref-data.ts');
        const config = await parseConfig(RmConfig, raw, o.config, 'train rm');
        const { initTf, loadCheckpoint } = await import('../../nn/index.ts');
        await initTf();
        const model = await loadCheckpoint(o.model);
        const data = await loadPrefData(o.data, { imageSize: model.config.imageSize });
        const evalData = o.evalData ? await loadPrefData(o.evalData, { imageSize: model.config.imageSize }) : undefined;
        process.stderr.write(`rm: ${data.examples.length} preferences from ${data.file}\n`);
        const { createProgress } = await import('../progress.ts');
        const bar = createProgress('rm', config.steps, { unit: 'step' });
        let done = 0;
        await stepsOnInterrupt(() => done, config.steps, 'redo');
        const r = await trainRewardModel({
          config,
          model,
          train: data.examples,
          eval: evalData?.examples,
          outDir: o.out,
          data: { path: data.file, sha256: data.sha256, samples: data.examples.length },
          onProgress: (p) => {
            bar.tick(p.step - done, { loss: p.loss, ...(p.eval ? { 'eval acc': p.eval.accuracy } : {}) });
            done = p.step;
          },
        });
        bar.stop();
        process.stdout.write(
          `${JSON.stringify({
            out: o.out,
            steps: config.steps,
            wallSeconds: s4(r.wallMs / 1000),
            before: { accuracy: s4(r.before.accuracy), margin: s4(r.before.margin), pairs: r.before.pairs },
            after: { accuracy: s4(r.after.accuracy), margin: s4(r.after.margin), pairs: r.after.pairs },
          })}\n`,
        );
      },
    );

  train
    .command('grpo')
    .description(
      'Online GRPO / RLOO: sample G answers per prompt, score them with reward plug-ins, clipped update with KL',
    )
    .requiredOption('--data <path>', 'a folder with samples.jsonl + media/ (as `mmalign world` writes) or a JSONL file')
    .requiredOption('--model <dir>', 'starting checkpoint (also the frozen reference)')
    .requiredOption('--out <dir>', 'checkpoint folder to write')
    .option('--objective <name>', 'grpo | rloo', 'grpo')
    .option('--config <file>', 'GrpoConfig (YAML or JSON, see src/train/grpo.ts); flags override it')
    .option(
      '--reward <name[=w]>',
      'reward plug-in, repeatable: verifiable, format, hallucination, reward_model (default: verifiable)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--reward-model <dir>', 'a folder written by `mmalign train rm` (for --reward reward_model)')
    .option('--tasks <list>', 'comma-separated ShapeWorld tasks to train on (e.g. count,arith)')
    .option('--steps <n>', 'optimisation steps')
    .option('--group-size <n>', 'G: samples per prompt')
    .option('--prompts <n>', 'prompts per step')
    .option('--beta <x>', 'KL coefficient')
    .option('--lr <x>', 'peak learning rate')
    .option('--seed <n>', 'seed')
    .option('--eval-data <path>', 'held-out prompts (default: a share of --data)')
    .option('--resume', 'continue from <out>/last', false)
    .option(
      '--workers <n>',
      'replicas on worker threads for the rollouts and greedy evals (default: the number of cores)',
    )
    .action(
      async (o: {
        data: string;
        model: string;
        out: string;
        objective: string;
        config?: string;
        reward: string[];
        rewardModel?: string;
        tasks?: string;
        steps?: string;
        groupSize?: string;
        prompts?: string;
        beta?: string;
        lr?: string;
        seed?: string;
        evalData?: string;
        resume: boolean;
        workers?: string;
      }) => {
        const raw = await readConfig(o.config);
        raw.objective = o.objective;
        const set = async (key: string, flag: string, v: string | undefined, int = false) => {
          const n = await num(flag, v, int);
          if (n !== undefined) raw[key] = n;
        };
        await set('steps', 'steps', o.steps, true);
        await set('groupSize', 'group-size', o.groupSize, true);
        await set('promptsPerStep', 'prompts', o.prompts, true);
        await set('beta', 'beta', o.beta);
        await set('seed', 'seed', o.seed, true);
        const lr = await num('lr', o.lr);
        if (lr !== undefined) raw.optim = { ...((raw.optim as object) ?? {}), lr };
        if (o.reward.length) raw.rewards = o.reward;
        if (o.tasks) raw.tasks = o.tasks.split(',').map((t) => t.trim());
        const { GrpoConfig, loadPromptData, trainGrpo } = await import('../../train/grpo.ts');
        const { parseWorkers } = await import('../../train/parallel/index.ts');
        const workers = parseWorkers(o.workers);
        const { makeReward } = await import('../../train/rewards.ts');
        const config = await parseConfig(GrpoConfig, raw, o.config, 'train grpo');
        const { initTf, loadCheckpoint } = await import('../../nn/index.ts');
        await initTf();
        let rewardModel:
          | ((items: { image: Uint8Array | null; prompt: string; response: string }[]) => number[])
          | undefined;
        if (o.rewardModel) {
          const { loadRewardModel, scoreWithRewardModel } = await import('../../train/rm.ts');
          const rm = await loadRewardModel(o.rewardModel, { trainable: false });
          rewardModel = (items) => scoreWithRewardModel(rm, items);
        }
        const reward = makeReward(config.rewards, { rewardModel });
        const model = await loadCheckpoint(o.model);
        const reference = await loadCheckpoint(o.model, { trainable: false });
        const load = (p: string, split?: string) =>
          loadPromptData(p, { imageSize: model.config.imageSize, split, tasks: config.tasks });
        const data = await load(o.data, config.split);
        const evalData = o.evalData ? await load(o.evalData) : undefined;
        process.stderr.write(`grpo: ${data.prompts.length} prompts from ${data.file}\n`);
        const { createProgress } = await import('../progress.ts');
        const bar = createProgress(config.objective, config.steps, { unit: 'step' });
        let done = 0;
        await stepsOnInterrupt(
          () => done,
          config.steps,
          'rerun with --resume to continue from the last checkpoint (<out>/last)',
        );
        const r = await trainGrpo({
          config,
          model,
          reference,
          reward: reward.fn,
          train: data.prompts,
          eval: evalData?.prompts,
          outDir: o.out,
          resume: o.resume,
          workers,
          data: { path: data.file, sha256: data.sha256, samples: data.prompts.length },
          onProgress: (p) => {
            bar.tick(p.step - done, {
              reward: p.metrics.reward ?? 0,
              ...(p.metrics.kl !== undefined ? { kl: p.metrics.kl } : {}),
              ...(p.eval ? { 'eval acc': p.eval.accuracy } : {}),
            });
            done = p.step;
          },
        });
        bar.stop();
        const ev = (e: { accuracy: number; reward: number; parseable: number; n: number }) => ({
          accuracy: s4(e.accuracy),
          reward: s4(e.reward),
          parseable: s4(e.parseable),
          n: e.n,
        });
        process.stdout.write(
          `${JSON.stringify({
            out: o.out,
            objective: config.objective,
            rewards: reward.parts,
            stepsRun: r.stepsRun,
            wallSeconds: s4(r.wallMs / 1000),
            before: ev(r.before),
            after: ev(r.after),
          })}\n`,
        );
      },
    );
}
