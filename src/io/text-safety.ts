import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { MmalignError } from '../util/errors.ts';

/**
 * Text inputs (JSONL, JSON, YAML) are checked before they are parsed: a file that is not text is refused with one
 * line instead of a screenful of decoding errors quoting its bytes. "Not text" means a known binary signature, a NUL
 * byte, or bytes at the start that are not UTF-8.
 */

const SIGNATURES: { name: string; bytes: number[] }[] = [
  { name: 'a PNG image', bytes: [0x89, 0x50, 0x4e, 0x47] },
  { name: 'a JPEG image', bytes: [0xff, 0xd8, 0xff] },
  { name: 'a GIF image', bytes: [0x47, 0x49, 0x46, 0x38] },
  { name: 'a RIFF (WebP / WAV / AVI) file', bytes: [0x52, 0x49, 0x46, 0x46] },
  { name: 'a PDF document', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { name: 'a zip archive', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { name: 'a gzip archive', bytes: [0x1f, 0x8b] },
  { name: 'a parquet file', bytes: [0x50, 0x41, 0x52, 0x31] },
  { name: 'an SQLite database', bytes: [...Buffer.from('SQLite format 3\0')] },
  { name: 'an ELF executable', bytes: [0x7f, 0x45, 0x4c, 0x46] },
];

const SNIFF_BYTES = 8192;

/** Why `head` (the first bytes of a file) is not text, or undefined when it looks like text. */
export function notTextReason(head: Uint8Array): string | undefined {
  for (const s of SIGNATURES) if (s.bytes.every((b, i) => head[i] === b)) return `it is ${s.name}`;
  if (head.includes(0)) return 'it holds NUL bytes';
  // a multi-byte character may be cut at the end of the sniffed window: decode in streaming mode
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    return 'it is not UTF-8 text';
  }
  return undefined;
}

/**
 * Throw MMALIGN_NOT_TEXT if `file` is not text, MMALIGN_IS_DIRECTORY if it is a folder. Other filesystem errors
 * (missing file, no permission) are left to the caller's read, which reports them with the path.
 */
export function assertTextFile(
  file: string,
  what = 'input',
  hint = 'records are read from .jsonl, .json or .parquet files (see --help)',
): void {
  let fd: number;
  try {
    if (statSync(file).isDirectory())
      throw new MmalignError('MMALIGN_IS_DIRECTORY', `${what} is a folder, not a file`, {
        file,
        hint: 'give the path of a file inside it',
      });
    fd = openSync(file, 'r');
  } catch (e) {
    if (e instanceof MmalignError) throw e;
    return;
  }
  const head = Buffer.alloc(SNIFF_BYTES);
  let n: number;
  try {
    n = readSync(fd, head, 0, SNIFF_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const reason = notTextReason(head.subarray(0, n));
  if (reason)
    throw new MmalignError('MMALIGN_NOT_TEXT', `${what} is not a text file: ${reason}`, {
      file,
      hint,
    });
}
