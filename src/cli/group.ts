import type { Command } from 'commander';

/**
 * A command group (`train`, `eval`, `studio`, ...) that several command files add subcommands to:
 * the first caller creates it, later callers get the same one.
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  return program.command(name).description(description);
}
