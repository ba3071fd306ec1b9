import { readdirSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { debugRequested, reportError } from './errors.ts';
import { installInterruptHandlers } from './interrupt.ts';

/**
 * The `mmalign` command. Each subcommand lives in its own file under ./commands and exports `register(program)`;
 * a file named after a command (`train.ts`, `train-align.ts` for `train`) registers it. Only the files of the command
 * being run are imported (some derive their help from tables that pull in tfjs, 1–2 s to load); `--help`, an unknown
 * command or no command imports them all.
 *
 * Everything a command throws goes through one boundary (./errors.ts): a sentence, a hint, exit 1 (bad data or
 * files) or 2 (bad command line); `--debug` anywhere on the line, or MMALIGN_DEBUG=1, adds the stack trace.
 */
export async function main(argv: string[]): Promise<number> {
  const debug = debugRequested(argv);
  const args = argv.filter((a, i) => i < 2 || a !== '--debug');
  const uninstall = installInterruptHandlers();
  try {
    const program = new Command('mmalign')
      .description(
        'Align multimodal LLMs with human preference: build preference data, train, evaluate, annotate, export.',
      )
      .version('0.1.0')
      .option('--debug', 'print stack traces with errors (also MMALIGN_DEBUG=1)')
      .exitOverride()
      .configureOutput({ outputError: (text, write) => write(`mmalign: ${text}`) })
      .showHelpAfterError('(run with --help for usage)');
    const dir = new URL('./commands/', import.meta.url);
    const all = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .sort();
    const word = args[2];
    const own = word && !word.startsWith('-') ? all.filter((f) => f === `${word}.ts` || f.startsWith(`${word}-`)) : [];
    const files = own.length ? own : all;
    for (const f of files) {
      const mod = (await import(new URL(f, dir).href)) as { register?: (p: Command) => void };
      mod.register?.(program);
    }
    await program.parseAsync(args);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // commander has already printed its own message (through outputError above)
    if (e instanceof CommanderError) return reportError(e);
    return reportError(e, { debug });
  } finally {
    uninstall();
  }
}
