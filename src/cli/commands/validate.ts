import type { Command } from 'commander';
import type { FormatName } from '../../io/index.ts';
import { RECORD_SCHEMAS, type RecordType } from '../../schema/index.ts';
import { formatIssue, MmalignError, UnknownNameError } from '../../util/errors.ts';
import { intOption, requireRecordInput } from '../options.ts';

/**
 * `mmalign validate FILE`: stream a JSONL / JSON / parquet file of mmalign records against the schema and check its
 * media. Prints `file:line: field: message [code]` per problem and exits 1 if there is any; otherwise prints the count.
 */
export function register(program: Command): void {
  const types = Object.keys(RECORD_SCHEMAS) as RecordType[];
  program
    .command('validate')
    .description(
      'Check a file of mmalign records (JSONL, JSON array or parquet; --format for other formats): schema, consistency, media',
    )
    .argument('<file>', 'records file (.jsonl, .json, .parquet)')
    .option('--type <type>', `check every record as this family: ${types.join(' | ')} (default: detect per record)`)
    .option('--media-root <dir>', "directory media paths are relative to (default: the file's directory)")
    .option('--no-media', 'skip the media checks (existence, sha256, decoding)')
    .option('--max-issues <n>', 'issues to print at most', intOption('max-issues', 1), 100)
    .option('--allow-empty', 'accept a file with no records (by default an empty input is an error)')
    .option(
      '--format <name>',
      'check a file of another format (trl, llamafactory, swift, ...) as convert would read it',
    )
    .action(
      async (
        file: string,
        o: {
          type?: string;
          mediaRoot?: string;
          media: boolean;
          maxIssues: number;
          format?: string;
          allowEmpty?: boolean;
        },
      ) => {
        if (o.type !== undefined && !types.includes(o.type as RecordType))
          throw new UnknownNameError('record type', o.type, types, { hint: 'see --help for --type' });
        requireRecordInput(file, { format: o.format });
        const { countRows, getFormat, validateFile } = await import('../../io/index.ts');
        const format = o.format === undefined ? undefined : getFormat(o.format).name;
        const { createProgress } = await import('../progress.ts');
        const total = (await countRows(file)) ?? 0;
        const progress = total >= 1000 ? createProgress(`validate ${file}`, total, { unit: 'records' }) : undefined;
        const res = await validateFile(file, {
          type: o.type as RecordType | undefined,
          mediaRoot: o.mediaRoot,
          media: o.media,
          maxIssues: o.maxIssues,
          format: format as FormatName | undefined,
          onProgress: () => progress?.tick(1000),
        });
        progress?.tick(res.records % 1000);
        progress?.stop();
        if (res.issueCount) {
          for (const i of res.issues) process.stderr.write(`${formatIssue(i)}\n`);
          const more = res.issueCount - res.issues.length;
          if (more > 0) process.stderr.write(`… and ${more} more issue(s)\n`);
          process.stderr.write(
            `${file}: ${res.invalid} of ${res.records} record(s) invalid (${res.issueCount} issue(s))\n`,
          );
          process.exitCode = 1;
          return;
        }
        if (res.records === 0 && !o.allowEmpty)
          throw new MmalignError('MMALIGN_EMPTY_INPUT', 'the file holds no records', {
            file,
            hint: 'pass --allow-empty if an empty file is expected',
          });
        const by = Object.entries(res.byType)
          .map(([t, n]) => `${n} ${t}`)
          .join(', ');
        process.stdout.write(`${file}: ${res.valid} valid record(s)${by ? ` (${by})` : ''}\n`);
      },
    );
}
