/**
 * Text from files and requests is untrusted: printed raw, `ESC]0;…BEL` sets the terminal title and `ESC[2J` clears
 * the screen. Everything the CLI prints that came from outside goes through `safeText`: control characters (C0, DEL,
 * C1) and bidi overrides become `\xNN` / `\uNNNN` escapes, and each line is cut at `width` characters.
 */

// C0 except \t and \n, DEL, C1, and the bidi embedding/override/isolate controls that reorder what is shown.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_OR_NEWLINE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Escape control characters; `newlines: false` (the default) escapes `\n` and `\t` too, for one-line fields. */
export function escapeControl(text: string, opts: { newlines?: boolean } = {}): string {
  return text.replace(opts.newlines ? UNSAFE : UNSAFE_OR_NEWLINE, escapeChar);
}

/** Cut a line longer than `width` characters, saying how much was left out. */
export function cutLine(line: string, width = DEFAULT_WIDTH): string {
  if (line.length <= width) return line;
  return `${line.slice(0, width)}… (${line.length - width} more characters)`;
}

export const DEFAULT_WIDTH = 400;

/** Escape control characters (keeping newlines) and cut every line: what the CLI does to any text before printing. */
export function safeText(text: string, width = DEFAULT_WIDTH): string {
  // cut first, so an escape is never split in half
  return text
    .split('\n')
    .map((l) => escapeControl(cutLine(l, width)))
    .join('\n');
}
