import type { Command } from 'commander';
import { OBJECTIVES } from '../../objectives/registry.ts';

/**
 * `mmalign loss --objective NAME --input FILE.json`: one objective on a batch given as JSON, printed as
 * `{"objective","loss","metrics"}`. The same `lossFromInput` the tests call; `--list` prints the table.
 * The objective list in --help comes from the OBJECTIVES table.
 */
export function register(program: Command): void {
  const names = Object.entries(OBJECTIVES)
    .map(([n, e]) => `  ${n.padEnd(10)} ${e.summary} [${e.data}${e.referenceFree ? ', reference-free' : ''}]`)
    .join('\n');
  program
    .command('loss')
    .description('Compute one alignment objective on a batch of log-probs given as JSON (see docs/objectives.md)')
    .option('--objective <name>', 'objective name (default: the "objective" key of the input)')
    .option('--input <file>', 'JSON with the fields as arrays over the batch and a "params" object; "-" = stdin')
    .option('--list', 'list the objectives with the fields and params each needs, as JSON', false)
    .addHelpText('after', `\nObjectives:\n${names}\n`)
    .action(async (o: { objective?: string; input?: string; list: boolean }) => {
      const { MmalignError } = await import('../../util/errors.ts');
      if (o.list) {
        const table = Object.fromEntries(
          Object.entries(OBJECTIVES).map(([n, e]) => [
            n,
            {
              summary: e.summary,
              data: e.data,
              referenceFree: e.referenceFree,
              needs: e.needs,
              optional: e.optional,
              params: e.params,
              defaultBeta: e.defaultBeta,
              paper: e.paper,
            },
          ]),
        );
        process.stdout.write(`${JSON.stringify(table, null, 2)}\n`);
        return;
      }
      if (!o.input) throw new MmalignError('MMALIGN_BAD_OPTION', 'loss needs --input FILE.json (or --list)');
      const { readFile } = await import('node:fs/promises');
      const file = o.input === '-' ? '<stdin>' : o.input;
      const text = await (o.input === '-' ? readStdin() : readFile(o.input, 'utf8')).catch((e: Error) => {
        throw new MmalignError('MMALIGN_NO_FILE', `cannot read ${file}: ${e.message}`);
      });
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw new MmalignError('MMALIGN_BAD_JSON', `${file}: not valid JSON: ${(e as Error).message}`);
      }
      const fromFile =
        raw && typeof raw === 'object' && 'objective' in raw ? (raw as { objective?: unknown }).objective : undefined;
      const name = o.objective ?? (typeof fromFile === 'string' ? fromFile : undefined);
      if (!name)
        throw new MmalignError('MMALIGN_BAD_OPTION', 'no objective: pass --objective or an "objective" key', {
          hint: `known: ${Object.keys(OBJECTIVES).join(', ')}`,
        });
      const { initTf } = await import('../../nn/tf.ts');
      const { lossFromInput } = await import('../../objectives/json.ts');
      await initTf();
      const report = lossFromInput(name, raw, file);
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
