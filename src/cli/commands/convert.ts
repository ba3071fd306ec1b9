import type { Command } from 'commander';
import type { FormatAdapter } from '../../io/index.ts';
import type { PreferenceKind } from '../../schema/index.ts';
import {
  formatIssue,
  MmalignError,
  RecordValidationError,
  UnknownNameError,
  type ValidationIssue,
} from '../../util/errors.ts';
import { choiceOption, requireRecordExtension, requireRecordInput } from '../options.ts';

const MEDIA_MODES = ['copy', 'link', 'none'] as const;

/**
 * `mmalign convert --from F --to G IN OUT`: stream records from one dataset format into another, copying media next
 * to OUT. Prints one summary line with the dropped counts. Bad input rows fail the whole conversion (nothing is left
 * at OUT) unless --skip-invalid is given, in which case they are counted and listed.
 */
export function register(program: Command): void {
  program
    .command('convert')
    .description(
      'Convert a preference / SFT dataset between formats (mmalign, trl, llamafactory, swift, rlaifv, vlfeedback, llava)',
    )
    .requiredOption('--from <format>', 'input format')
    .requiredOption('--to <format>', 'output format')
    .argument('<in>', 'input file (.jsonl, .json, .parquet)')
    .argument('<out>', 'output file; its extension picks the container (.jsonl, .json, .parquet)')
    .option(
      '--media <mode>',
      'copy | link | none: how media files reach the output directory',
      choiceOption('media', MEDIA_MODES, 'media mode'),
      'copy',
    )
    .option('--media-root <dir>', "directory the input's media paths are relative to (default: the input's directory)")
    .option('--binarize', 'turn rankings / rubric scores into best-vs-worst pairs for pair-only formats')
    .option('--rubric-aspect <name>', 'rubric aspect that orders responses when binarising (default: mean of aspects)')
    .option('--kinds <list>', 'comma-separated preference kinds to write (others are counted as dropped)')
    .option('--dataset-name <name>', 'entry name in LLaMA-Factory dataset_info.json (default: output file stem)')
    .option('--embed-media', 'parquet outputs of mmalign / rlaifv: store the image bytes in the file')
    .option('--annotator <kind:id>', 'annotator to record on imported preferences (foreign formats do not say)')
    .option('--skip-invalid', 'write the valid rows and report the invalid ones instead of failing')
    .option('--allow-empty', 'accept an input with no rows (and write an empty output)')
    .action(
      async (
        input: string,
        out: string,
        o: {
          from: string;
          to: string;
          media: string;
          mediaRoot?: string;
          binarize?: boolean;
          rubricAspect?: string;
          kinds?: string;
          datasetName?: string;
          embedMedia?: boolean;
          annotator?: string;
          skipInvalid?: boolean;
          allowEmpty?: boolean;
        },
      ) => {
        const path = await import('node:path');
        const { getFormat, summaryLine } = await import('../../io/index.ts');
        const { AnnotatorKind, PREFERENCE_KINDS } = await import('../../schema/index.ts');
        const from = getFormat(o.from);
        const to = getFormat(o.to);
        requireRecordInput(input);
        requireRecordExtension(out, 'output');
        if (from.holds !== 'any' && to.holds !== 'any' && from.holds !== to.holds)
          throw new MmalignError(
            'MMALIGN_FORMAT_MISMATCH',
            `${o.from} holds ${from.holds}s but ${o.to} holds ${to.holds}s; there is nothing to convert`,
          );
        const kinds = o.kinds?.split(',').map((k) => k.trim());
        for (const k of kinds ?? [])
          if (!(PREFERENCE_KINDS as readonly string[]).includes(k))
            throw new UnknownNameError('preference kind', k, PREFERENCE_KINDS, { hint: 'see --help for --kinds' });
        let annotator: { kind: (typeof AnnotatorKind.options)[number]; id: string } | undefined;
        if (o.annotator) {
          const [kind, ...id] = o.annotator.split(':');
          const parsed = AnnotatorKind.safeParse(kind);
          if (!parsed.success || !id.join(':'))
            throw new MmalignError(
              'MMALIGN_BAD_OPTION',
              `--annotator must be KIND:ID with KIND one of ${AnnotatorKind.options.join(', ')}`,
            );
          annotator = { kind: parsed.data, id: id.join(':') };
        }
        if (path.resolve(input) === path.resolve(out))
          throw new MmalignError('MMALIGN_BAD_OPTION', 'input and output are the same file');

        const mediaRoot = o.mediaRoot ?? path.dirname(input);
        const issues: ValidationIssue[] = [];
        let invalidRows = 0;
        let lastBad: number | undefined;
        const { createProgress } = await import('../progress.ts');
        const { countRows } = await import('../../io/index.ts');
        const total = (await countRows(input)) ?? 0;
        // Small jobs need no progress; big ones get a bar (TTY) or a line every few seconds.
        const progress =
          total >= 1000 ? createProgress(`convert ${o.from}→${o.to}`, total, { unit: 'rows' }) : undefined;
        let n = 0;
        let okRows = 0;
        async function* records() {
          for await (const it of from.read(input, { mediaRoot, provenance: annotator ? { annotator } : undefined })) {
            if (++n % 1000 === 0) progress?.tick(1000);
            if (it.ok) {
              okRows++;
              yield it.record;
              continue;
            }
            if (it.line !== lastBad) invalidRows++;
            lastBad = it.line;
            issues.push(it.issue);
          }
          // Fail before the output is renamed into place: a conversion with bad rows leaves nothing behind.
          if (issues.length && !o.skipInvalid)
            throw new RecordValidationError(issues, 'fix the rows above, or pass --skip-invalid to convert the rest');
        }
        // Ctrl-C: the output's temp file is removed (atomic writes), OUT is left as it was
        const { setInterruptStatus } = await import('../interrupt.ts');
        setInterruptStatus(() => ({
          done: n,
          total: total || undefined,
          unit: 'rows',
          kept: false,
          rerun: `rerun the same command to redo (${path.basename(out)} was not written)`,
        }));
        let summary: Awaited<ReturnType<FormatAdapter['write']>>;
        try {
          summary = await (to as FormatAdapter).write(records(), out, {
            mediaRoot,
            media: o.media as 'copy' | 'link' | 'none',
            binarize: o.binarize,
            rubricAspect: o.rubricAspect,
            kinds: kinds as PreferenceKind[] | undefined,
            datasetName: o.datasetName,
            embedMedia: o.embedMedia,
          });
        } finally {
          progress?.tick(n % 1000);
          progress?.stop();
        }
        if (issues.length) {
          for (const i of issues.slice(0, 50)) process.stderr.write(`${formatIssue(i)}\n`);
          if (issues.length > 50) process.stderr.write(`… and ${issues.length - 50} more issue(s)\n`);
        }
        for (const d of summary.dropped)
          if (d.example) process.stderr.write(`note: ${d.reason} ×${d.count}, e.g. ${d.example}\n`);
        if (summary.written === 0 && !(n === 0 && o.allowEmpty)) {
          // An empty training file only fails later, inside a trainer: remove it and say why here.
          const { rm } = await import('node:fs/promises');
          await rm(out, { force: true });
          if (n === 0)
            throw new MmalignError('MMALIGN_EMPTY_INPUT', 'the input holds no rows; nothing written', {
              file: input,
              hint: 'pass --allow-empty if an empty input is expected',
            });
          if (okRows === 0)
            throw new MmalignError(
              'MMALIGN_ALL_INVALID',
              `all ${n} input row(s) are invalid (listed above); nothing written`,
              {
                file: input,
                hint: `check that --from ${o.from} is the input's format; \`mmalign validate --format ${o.from} ${input}\` lists every problem`,
              },
            );
          throw new MmalignError('MMALIGN_NOTHING_WRITTEN', `nothing written: ${summaryLine(summary)}`, {
            hint: 'pick a target format that holds these records, or pass --binarize for rankings / rubrics',
          });
        }
        let line = summaryLine(summary);
        if (invalidRows) line += `; skipped ${invalidRows} invalid input row(s)`;
        if (summary.files.length > 1) line += `; also wrote ${summary.files.slice(1).join(', ')}`;
        process.stdout.write(`${line}\n`);
      },
    );
}
