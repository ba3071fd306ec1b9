import { readdirSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isMmalignError } from '../util/errors.ts';

/**
 * The `mmalign` command. Each subcommand lives in its own file under ./commands and exports `register(program)`;
 * a file named after a command (`train.ts`, `train-align.ts` for `train`) registers it. Only the files of the command
 * being run are imported (some derive their help from tables that pull in tfjs, 1–2 s to load); `--help`, an unknown
 * command or no command imports them all.
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('mmalign')
    .description(
      'Align multimodal LLMs with human preference: build preference data, train, evaluate, annotate, export.',
    )
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  const dir = new URL('./commands/', import.meta.url);
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort();
  const word = argv[2];
  const own = word && !word.startsWith('-') ? all.filter((f) => f === `${word}.ts` || f.startsWith(`${word}-`)) : [];
  const files = own.length ? own : all;
  for (const f of files) {
    const mod = (await import(new URL(f, dir).href)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (isMmalignError(e)) {
      process.stderr.write(`mmalign: error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
