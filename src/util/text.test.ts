import { describe, expect, it } from 'vitest';
import { cutLine, escapeControl, safeText } from './text.ts';

describe('untrusted text', () => {
  it('escapes the terminal sequences that set the title and clear the screen', () => {
    const evil = 'x\x1b]0;pwned\x07\x1b[2J';
    expect(escapeControl(evil)).toBe('x\\x1b]0;pwned\\x07\\x1b[2J');
    expect(escapeControl('a\nb\tc\r')).toBe('a\\nb\\tc\\r');
    expect(escapeControl('a\nb', { newlines: true })).toBe('a\nb');
    expect(escapeControl('\u009b\u202eabc')).toBe('\\x9b\\u202eabc');
    expect(escapeControl('héllo — ✓ 中文')).toBe('héllo — ✓ 中文');
  });
  it('cuts long lines and says by how much', () => {
    expect(cutLine('abcdef', 4)).toBe('abcd… (2 more characters)');
    expect(cutLine('abc', 4)).toBe('abc');
    expect(safeText(`${'a'.repeat(10)}\n\x1b[2J`, 5)).toBe('aaaaa… (5 more characters)\n\\x1b[2J');
  });
});
