import type { Message } from './common.ts';

/** The text of the last user turn, with media parts shown as `<image>` / `<video>` / `<audio>` placeholders. */
export function promptText(messages: readonly Message[], placeholder = true): string {
  const user = [...messages].reverse().find((m) => m.role === 'user') ?? messages[messages.length - 1];
  if (typeof user.content === 'string') return user.content;
  return user.content
    .map((p) => (p.type === 'text' ? p.text : placeholder ? `<${p.type}>` : ''))
    .join('')
    .trim();
}

export function nowIso(): string {
  return new Date().toISOString();
}
