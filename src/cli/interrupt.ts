import { removeOpenTempFiles } from '../io/atomic.ts';
import { stopAllProgress } from './progress.ts';

/**
 * Ctrl-C (SIGINT) and SIGTERM, the same way in every command: progress bars stop and the cursor comes back, the
 * command's own temp files are removed, and one line says how far it got and what a rerun does:
 *   interrupted: 545 of 5000 samples written; rerun the same command to resume
 * A command that can stop at a safe point (a training step, a pipeline item) registers `onGracefulStop`: the first
 * signal asks it to stop, a second one exits at once. Otherwise the process exits right away with 128 + signal.
 */

export interface InterruptStatus {
  done: number;
  total?: number;
  /** what is counted: "samples", "steps", "stages" */
  unit: string;
  /** written (kept on disk) or done (and thrown away) */
  kept?: boolean;
  /** overrides "written" / "done, none kept" */
  verb?: string;
  /** what a rerun does: resume (default) or redo; or a full instruction such as "rerun with --resume to continue" */
  rerun?: 'resume' | 'redo' | string;
}

// SIGHUP: the terminal went away (ssh dropped, window closed); treated as Ctrl-C so temp files still go
const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

let statusOf: (() => InterruptStatus) | undefined;
let graceful: { stop: () => void; notice: string | null } | undefined;
const cleanups = new Set<() => void>();
let received: NodeJS.Signals | undefined;

/** How far the running command is, for the `interrupted:` line. */
export function setInterruptStatus(fn: (() => InterruptStatus) | undefined): void {
  statusOf = fn;
}

/** A synchronous cleanup run on a hard interrupt (remove a temp folder, ...); returns the unregister function. */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/**
 * Let the command stop itself at a safe point on the first signal (a server closing its socket, a trainer finishing
 * its step); `notice` is printed when the signal arrives (null: nothing). Returns the unregister function.
 */
export function onGracefulStop(
  stop: () => void,
  notice: string | null = 'stopping at the next safe point (press Ctrl-C again to stop now)',
): () => void {
  const g = { stop, notice };
  graceful = g;
  return () => {
    if (graceful === g) graceful = undefined;
  };
}

/** The signal received so far, if any. */
export function interruptSignal(): NodeJS.Signals | undefined {
  return received;
}

export function interruptExitCode(signal: NodeJS.Signals = received ?? 'SIGINT'): number {
  return SIGNAL_EXIT[signal] ?? 130;
}

export function interruptMessage(s: InterruptStatus | undefined = statusOf?.()): string {
  if (!s) return 'interrupted; rerun the same command to resume';
  const count = s.total !== undefined ? `${s.done} of ${s.total}` : `${s.done}`;
  const verb = s.verb ?? (s.kept === false ? 'done, none kept' : 'written');
  const rerun =
    s.rerun === undefined || s.rerun === 'resume'
      ? 'rerun the same command to resume'
      : s.rerun === 'redo'
        ? 'rerun the same command to redo'
        : s.rerun;
  return `interrupted: ${count} ${s.unit} ${verb}; ${rerun}`;
}

/** Stop now: bars, cleanups, temp files, the message, exit. */
function hardStop(signal: NodeJS.Signals): never {
  stopAllProgress();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // cleanup is best effort: the message below still tells the user how to recover
    }
  }
  removeOpenTempFiles();
  process.stderr.write(`\n${interruptMessage()}\n`);
  process.exit(interruptExitCode(signal));
}

function handle(signal: NodeJS.Signals): void {
  if (received === undefined && graceful) {
    received = signal;
    stopAllProgress();
    if (graceful.notice) process.stderr.write(`\n${graceful.notice}\n`);
    graceful.stop();
    return;
  }
  received = signal;
  hardStop(signal);
}

/** Install the SIGINT / SIGTERM / SIGHUP handlers for this process (idempotent); returns the uninstall function. */
export function installInterruptHandlers(): () => void {
  const signals = Object.keys(SIGNAL_EXIT) as NodeJS.Signals[];
  const handlers = signals.map((sig) => [sig, () => handle(sig)] as const);
  for (const [sig, fn] of handlers) process.on(sig, fn);
  return () => {
    for (const [sig, fn] of handlers) process.off(sig, fn);
  };
}
