import type { Command } from 'commander';
import { ENGINE_NAMES, versionIds } from '../../export/engines.ts';
import { MmalignError, UnknownNameError } from '../../util/errors.ts';

/**
 * `mmalign export`: hand a preference set to TRL, LLaMA-Factory, ms-swift or OpenRLHF. Names for --engine,
 * --engine-version, --objective and --rankings come from the export module's tables, so help and errors list what
 * exists.
 */
export function register(program: Command): void {
  program
    .command('export')
    .description(
      'write DATA (mmalign preference JSONL) into OUT in a training engine’s format, with its dataset registration, a ready config + launch script for the objective, README.md, dataset_card.md and a pre-flight report',
    )
    .argument('<data>', 'preference records (.jsonl, or a .json array)')
    .argument('<out>', 'output folder (created; must be empty)')
    .requiredOption('--engine <name>', 'trl | llamafactory | swift | openrlhf')
    .option(
      '--engine-version <v>',
      `engine release line to write for, or a release inside one (default: the first listed): ${ENGINE_NAMES.map((e) => `${e} ${versionIds(e).join(', ')}`).join(' | ')}`,
    )
    .requiredOption('--objective <name>', 'mmalign objective (see docs/engines.md for what each engine supports)')
    .requiredOption('--model <hf_id>', 'model the config trains, e.g. Qwen/Qwen2-VL-7B-Instruct')
    .option('--max-length <n>', 'sequence limit: rows that would be truncated are dropped (needs --tokenizer)', toInt)
    .option('--tokenizer <file>', "the model's tokenizer.json, to count prompt and answer tokens")
    .option('--image-tokens <n>', 'tokens one image takes (overrides the per-model table)', toInt)
    .option('--media-root <dir>', 'folder media paths are relative to (default: the data file’s folder)')
    .option('--rankings <mode>', 'best-vs-rest | all-pairs | drop: how N-way rankings become pairs', 'best-vs-rest')
    .option('--name <name>', 'dataset name (LLaMA-Factory registry key)', 'mmalign')
    .option('--template <name>', 'LLaMA-Factory chat template (default: from the model id)')
    .option('--beta <x>', 'β written into the config (default: 0.1; SimPO keeps its engine scale)', toFloat)
    .option('--dry-run', 'run pre-flight and print the report; write nothing')
    .option('--json', 'print the pre-flight report as JSON')
    .action(async (data: string, out: string, o: Record<string, unknown>) => {
      const { ENGINE_NAMES, RANKING_MODES, runExport } = await import('../../export/index.ts');
      const { createProgress } = await import('../progress.ts');
      const engine = String(o.engine);
      if (!(ENGINE_NAMES as readonly string[]).includes(engine))
        throw new UnknownNameError('engine', engine, ENGINE_NAMES, { hint: 'see --help for --engine' });
      /** A phase's progress: counted always (for the `interrupted:` line), a bar only for what is worth waiting for. */
      const phase = (label: string, unit: string, minForBar: number) => {
        let bar: ReturnType<typeof createProgress> | undefined;
        const p = {
          done: 0,
          total: undefined as number | undefined,
          update(done: number, total: number) {
            p.done = done;
            p.total = total;
            if (total < minForBar) return;
            bar ??= createProgress(label, total, { unit });
            bar.update(done);
            if (done === total) bar.stop();
          },
        };
        return p;
      };
      const checking = phase('pre-flight', 'rows', 1000);
      const writing = phase('write', 'files', 200);
      // Ctrl-C: OUT is written into a hidden sibling folder that replaces it only when complete (runExport)
      const { setInterruptStatus } = await import('../interrupt.ts');
      setInterruptStatus(() => ({
        done: checking.done,
        total: checking.total,
        unit: 'rows',
        verb: 'checked, none written',
        rerun: `rerun the same command to redo (${out} was not written${writing.total ? `; ${writing.done} of ${writing.total} files were ready` : ''})`,
      }));
      const rankings = String(o.rankings);
      if (!Object.hasOwn(RANKING_MODES, rankings))
        throw new UnknownNameError('--rankings mode', rankings, Object.keys(RANKING_MODES), {
          hint: 'see --help for --rankings',
        });
      const res = await runExport({
        engine: engine as (typeof ENGINE_NAMES)[number],
        engineVersion: o.engineVersion as string | undefined,
        objective: String(o.objective),
        model: String(o.model),
        data,
        out,
        maxLength: o.maxLength as number | undefined,
        tokenizer: o.tokenizer as string | undefined,
        imageTokens: o.imageTokens as number | undefined,
        mediaRoot: o.mediaRoot as string | undefined,
        rankings: rankings as keyof typeof RANKING_MODES,
        name: String(o.name),
        template: o.template as string | undefined,
        beta: o.beta as number | undefined,
        dryRun: Boolean(o.dryRun),
        onProgress: checking.update,
        onWrite: writing.update,
      });
      const r = res.report;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const lines = [
        `${r.engine} ${r.engineVersion} / ${r.objective} (${r.engineOption}): ${r.records} records → ${r.candidates} candidate rows`,
        `  kept ${r.kept}, fixed ${r.fixed.length}, dropped ${r.dropped.length}`,
        ...Object.entries(r.droppedByReason).map(([k, n]) => `    ${n} × ${k}`),
        ...r.dropped.slice(0, 20).map((d) => `  dropped ${d.id} (line ${d.line}): ${d.detail}`),
        ...(r.dropped.length > 20 ? [`  … ${r.dropped.length - 20} more in preflight_report.json`] : []),
        ...r.fixed.slice(0, 10).map((f) => `  fixed ${f.id} (line ${f.line}): ${f.fixes.join('; ')}`),
        ...r.warnings.map((w) => `  warning: ${w}`),
        res.written.length
          ? `wrote ${res.written.length} files to ${res.out} (see README.md there to launch)`
          : 'dry run: nothing written',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function toInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new MmalignError('MMALIGN_EXPORT_OPTION', `expected an integer, got "${v}"`);
  return n;
}

function toFloat(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new MmalignError('MMALIGN_EXPORT_OPTION', `expected a number, got "${v}"`);
  return n;
}
