import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/**
 * A tiny content-addressed writer for the world's PNGs (`media/<sha[0:2]>/<sha>.png`), same layout as the io
 * module's media store. Each file is written to a temp name and renamed, so a crash never leaves a truncated image
 * under its final (content-derived) name; an existing file is trusted because its name is its hash.
 */
export class MediaWriter {
  readonly #root: string;
  readonly #dirs = new Set<string>();
  written = 0;
  reused = 0;

  constructor(root: string) {
    this.#root = root;
  }

  write(relPath: string, bytes: Uint8Array): void {
    const full = path.join(this.#root, relPath);
    if (existsSync(full)) {
      this.reused++;
      return;
    }
    const dir = path.dirname(full);
    if (!this.#dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.#dirs.add(dir);
    }
    writeAtomic(full, bytes);
    this.written++;
  }
}

/** Write a whole file through `<file>.tmp-<pid>` + rename. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Appends lines to `<file>.tmp-<pid>`; `commit()` renames it into place, `abort()` deletes it. */
export class AtomicLineWriter {
  readonly #file: string;
  readonly #tmp: string;
  #fd: number;
  #buf: string[] = [];
  #bufLen = 0;

  constructor(file: string) {
    this.#file = file;
    this.#tmp = `${file}.tmp-${process.pid}`;
    this.#fd = openSync(this.#tmp, 'w');
  }

  write(line: string): void {
    this.#buf.push(line, '\n');
    this.#bufLen += line.length + 1;
    if (this.#bufLen > 1 << 20) this.#flush();
  }

  #flush(): void {
    if (this.#buf.length) writeSync(this.#fd, this.#buf.join(''));
    this.#buf = [];
    this.#bufLen = 0;
  }

  commit(): void {
    this.#flush();
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    renameSync(this.#tmp, this.#file);
  }

  abort(): void {
    try {
      closeSync(this.#fd);
    } catch {}
    rmSync(this.#tmp, { force: true });
  }
}
