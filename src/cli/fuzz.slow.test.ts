import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { tempDir } from '../../test/helpers/cli.ts';
import { writeSampleSet } from '../construct/testing.ts';
import { getFormat } from '../io/index.ts';
import { createRng, type Rng } from '../util/rng.ts';
import { main } from './main.ts';

/**
 * 1,000 random mutations of valid JSONL, Parquet and YAML inputs fed to `validate`, `convert` and `construct`,
 * through the CLI's own `main` in this process (a process per run would cost ~1 s each). For every run: it ends
 * (no hang), prints no stack trace and no internal error, exits 0 or 1, exits 1 when a line is not JSON, agrees with
 * the library's reader on whether a record is bad, and leaves no partial output: a failed convert writes nothing,
 * a successful one a complete file; construct's outputs are whole JSON lines.
 */
const t = tempDir('mmalign-fuzz-');
afterAll(() => {
  t.cleanup();
  delete process.env.MMALIGN_PARQUET_DECODE_BUDGET_S;
});
const at = (...p: string[]) => path.join(t.dir, ...p);
const STACK = /^\s+at |node:internal|MMALIGN_INTERNAL/m;
const MUTATIONS = 1000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `mmalign ARGS` in process, capturing stdout / stderr, with a deadline. */
async function mmalign(args: string[], timeoutMs = 20_000): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (k: 'stdout' | 'stderr') =>
    ((chunk: string | Uint8Array) => {
      out[k] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  process.exitCode = undefined;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      main(['node', 'mmalign', ...args]),
      new Promise<number>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hang: mmalign ${args.join(' ')}`)), timeoutMs);
      }),
    ]);
    return { code, ...out, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
    process.exitCode = undefined;
  }
}

// ---- mutations ---------------------------------------------------------------------------------------------------

const NASTY = ['\x1b]0;x\x07', '\x1b[2J', '\0', '\xff\xfe', '"', '{', '}', ',', '\n', '\r\n', '\\', '\u202e', 'null'];
const randomValue = (rng: Rng): unknown =>
  rng.pick<() => unknown>([
    () => null,
    () => rng.int(2) === 1,
    () => rng.normal() * 10 ** rng.int(20),
    () => -1,
    () => '',
    () => 'x'.repeat(rng.int(20_000)),
    () => rng.pick(NASTY),
    () => [],
    () => [[[[[]]]]],
    () => ({}),
    () => ({ role: 'user', content: rng.pick(NASTY) }),
  ])();

function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (prefix.length) out.push(prefix);
  if (Array.isArray(v))
    v.forEach((x, i) => {
      paths(x, [...prefix, i], out);
    });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, p: (string | number)[], value: unknown, del: boolean): void {
  let cur = root as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = p[p.length - 1] as string | number;
  if (del && !Array.isArray(cur)) delete cur[last];
  else cur[last] = value;
}

/** One random edit of a text file's content: bytes (flip, insert, cut, delete, duplicate) or values (JSONL line-wise,
 * or a whole YAML document). */
function mutateText(text: string, rng: Rng, yaml = false): { text: string; kind: string } {
  const lines = text.split('\n').filter(Boolean);
  const kind = rng.pick(['flip', 'insert', 'truncate', 'delete', 'duplicate', 'value', 'drop-key', 'add-key', 'empty']);
  const pos = rng.int(text.length);
  switch (kind) {
    case 'flip':
      return { kind, text: text.slice(0, pos) + String.fromCharCode(rng.int(256)) + text.slice(pos + 1) };
    case 'insert':
      return { kind, text: text.slice(0, pos) + rng.pick(NASTY) + text.slice(pos) };
    case 'truncate':
      return { kind, text: text.slice(0, pos) };
    case 'delete':
      return { kind, text: text.slice(0, pos) + text.slice(pos + 1 + rng.int(40)) };
    case 'duplicate': {
      const i = rng.int(lines.length);
      lines.splice(i, 0, lines[i] as string);
      return { kind, text: `${lines.join('\n')}\n` };
    }
    case 'empty':
      return { kind, text: rng.pick(['', '\n\n', '   \n']) };
  }
  const edit = (value: Record<string, unknown>) => {
    const ps = paths(value);
    if (kind === 'add-key') value[rng.pick(['extra', 'idd', 'beta', 'kind', 'messages', 'stagez'])] = randomValue(rng);
    else if (ps.length) setAt(value, rng.pick(ps), randomValue(rng), kind === 'drop-key');
    return value;
  };
  if (yaml) return { kind, text: stringify(edit(parse(text) as Record<string, unknown>)) };
  const i = rng.int(lines.length);
  lines[i] = JSON.stringify(edit(JSON.parse(lines[i] as string) as Record<string, unknown>));
  return { kind, text: `${lines.join('\n')}\n` };
}

/** Some line is not JSON (a torn line, a stray byte): the file is certainly bad. */
function hasNonJsonLine(text: string): boolean {
  for (const l of text.split('\n')) {
    const s = l.endsWith('\r') ? l.slice(0, -1) : l;
    if (s.trim() === '') continue;
    try {
      JSON.parse(s.charCodeAt(0) === 0xfeff ? s.slice(1) : s);
    } catch {
      return true;
    }
  }
  return false;
}

const isEmpty = (text: string) => text.trim() === '';

/** The library's own reading of the file (the CLI must agree with it). */
async function libraryIssues(format: string, file: string): Promise<{ records: number; issues: number }> {
  try {
    const r = await getFormat(format).readAll(file);
    return { records: r.records.length, issues: r.issues.length };
  } catch {
    return { records: 0, issues: 1 };
  }
}

function checkRun(r: Run, what: string) {
  expect(r.stderr, what).not.toMatch(STACK);
  expect([0, 1], `${what}\n${r.stderr}`).toContain(r.code);
  if (r.code === 1) expect(r.stderr, what).toMatch(/\[[A-Za-z_]+\]/);
  // no raw control character from the file reaches the terminal
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for raw control characters is the point
  expect(r.stderr, what).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
}

function outputsOf(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

// ---- inputs ------------------------------------------------------------------------------------------------------

const trlRow = (i: number) => ({
  images: [],
  prompt: [{ role: 'user', content: `question ${i}` }],
  chosen: [{ role: 'assistant', content: `good ${i}` }],
  rejected: [{ role: 'assistant', content: 'bad' }],
});
let trlText: string;
let samplesText: string;
let parquetBytes: Buffer;
let yamlText: string;

beforeAll(async () => {
  // a damaged page that makes the decoder loop is cut off after 2 s instead of 10 (the budget is a setting)
  process.env.MMALIGN_PARQUET_DECODE_BUDGET_S = '2';
  trlText = `${[1, 2, 3, 4, 5].map((i) => JSON.stringify(trlRow(i))).join('\n')}\n`;
  writeFileSync(at('trl.jsonl'), trlText);
  mkdirSync(at('samples'));
  samplesText = readFileSync(writeSampleSet(at('samples'), 5, { image: false }), 'utf8');
  const r = await mmalign(['convert', '--from', 'trl', '--to', 'mmalign', at('trl.jsonl'), at('prefs.parquet')]);
  expect(r.code, r.stderr).toBe(0);
  parquetBytes = readFileSync(at('prefs.parquet'));
  yamlText = stringify({
    run: 'run',
    seed: 1,
    stages: [{ stage: 'source', files: ['samples.jsonl'], limit: 4 }],
  });
});

describe(`fuzz: ${MUTATIONS} mutated inputs to validate, convert and construct`, () => {
  it('never crashes, hangs or leaves a partial output; bad records exit 1', async () => {
    const rng = createRng(18);
    const t0 = performance.now();
    const stats = { runs: 0, exit1: 0, exit0: 0, slowestMs: 0, byKind: {} as Record<string, number> };
    const note = (r: Run) => {
      stats.runs++;
      stats[r.code === 0 ? 'exit0' : 'exit1']++;
      stats.slowestMs = Math.max(stats.slowestMs, r.ms);
    };
    /**
     * `validate` then `convert` one mutated file: exit 1 when the library's reader finds a bad record (or the file is
     * certainly bad); a failed convert leaves the output folder empty, a successful one a complete file.
     */
    const validateThenConvert = async (
      file: string,
      from: string,
      to: string,
      outName: string,
      certainlyBad: boolean,
      what: string,
    ) => {
      const lib = await libraryIssues(from, file);
      const bad = certainlyBad || lib.issues > 0;
      const v = await mmalign(['validate', ...(from === 'mmalign' ? [] : ['--format', from]), '--no-media', file]);
      checkRun(v, `validate ${what}`);
      note(v);
      if (bad) expect(v.code, `validate ${what}\n${v.stderr}`).toBe(1);
      const outDir = path.join(path.dirname(file), 'out');
      const out = path.join(outDir, outName);
      const c = await mmalign(['convert', '--from', from, '--to', to, '--media', 'none', file, out]);
      checkRun(c, `convert ${what}`);
      note(c);
      if (bad) expect(c.code, `convert ${what}\n${c.stderr}`).toBe(1);
      if (c.code === 1) expect(outputsOf(outDir), `convert ${what}`).toEqual([]);
      else {
        const text = readFileSync(out, 'utf8');
        const rows = outName.endsWith('.jsonl')
          ? text
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l))
          : JSON.parse(text);
        expect(rows).toHaveLength(lib.records);
      }
    };
    for (let m = 0; m < MUTATIONS; m++) {
      const dir = at(`m${m}`);
      mkdirSync(dir);
      const family = m % 4;
      if (family === 0 || family === 1) {
        // JSONL (TRL rows) → validate --format trl, convert trl → llamafactory
        const { text, kind } = mutateText(trlText, rng);
        stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
        const file = path.join(dir, 'in.jsonl');
        writeFileSync(file, text, 'latin1');
        const certainlyBad = hasNonJsonLine(readFileSync(file, 'utf8')) || isEmpty(text);
        await validateThenConvert(file, 'trl', 'llamafactory', 'o.json', certainlyBad, `${kind} #${m}`);
      } else if (family === 2) {
        // Parquet (mmalign preferences): byte edits of the data pages or of the footer (schema, row groups, key-value
        // metadata), or a cut anywhere. Data-page edits once sent hyparquet 1.33 into minute-long synchronous loops;
        // page headers are now checked first and row groups decode on a worker with a time budget (src/io/parquet.ts).
        const bytes = Buffer.from(parquetBytes);
        const footerLength = bytes.readUInt32LE(bytes.length - 8);
        const footerStart = bytes.length - 8 - footerLength;
        const somewhere = () =>
          rng.int(2) === 0 ? 4 + rng.int(footerStart - 4) : footerStart + rng.int(footerLength + 8);
        const kind = rng.pick(['flip', 'flip', 'truncate', 'zero']);
        stats.byKind[`parquet-${kind}`] = (stats.byKind[`parquet-${kind}`] ?? 0) + 1;
        let data: Buffer = bytes;
        if (kind === 'truncate') data = bytes.subarray(0, rng.int(bytes.length));
        else if (kind === 'zero') bytes.fill(0, somewhere(), somewhere());
        else for (let k = 0; k < 1 + rng.int(4); k++) bytes[somewhere()] = rng.int(256);
        const file = path.join(dir, 'in.parquet');
        writeFileSync(file, data);
        await validateThenConvert(file, 'mmalign', 'trl', 'o.jsonl', false, `parquet-${kind} #${m}`);
      } else {
        // YAML config (or the JSONL it reads) → construct
        const mutateConfig = rng.int(2) === 0;
        const { text, kind } = mutateConfig ? mutateText(yamlText, rng, true) : mutateText(samplesText, rng);
        const name = `construct-${mutateConfig ? 'yaml' : 'jsonl'}-${kind}`;
        stats.byKind[name] = (stats.byKind[name] ?? 0) + 1;
        writeFileSync(path.join(dir, 'c.yaml'), mutateConfig ? text : yamlText);
        writeFileSync(path.join(dir, 'samples.jsonl'), mutateConfig ? samplesText : text, 'latin1');
        const r = await mmalign(['construct', path.join(dir, 'c.yaml'), '--run', path.join(dir, 'run')]);
        checkRun(r, `${name} #${m}`);
        note(r);
        if (!mutateConfig && hasNonJsonLine(readFileSync(path.join(dir, 'samples.jsonl'), 'utf8')))
          expect(r.code, `${name} #${m}\n${r.stderr}`).toBe(1);
        const out = path.join(dir, 'run', 'stages', 'source', 'out.jsonl');
        if (existsSync(out)) for (const l of readFileSync(out, 'utf8').split('\n').filter(Boolean)) JSON.parse(l);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(
      `fuzz: ${JSON.stringify({ mutations: MUTATIONS, seconds: Number(seconds.toFixed(1)), ...stats })}\n`,
    );
    expect(stats.exit1).toBeGreaterThan(MUTATIONS / 4);
    expect(stats.exit0).toBeGreaterThan(0);
  }, 300_000);
});
