import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordValidationError } from '../util/errors.ts';
import { runExport } from './export.ts';
import { UnsupportedObjectiveError } from './objective-map.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const INPUT = path.join(HERE, 'golden', 'input', 'prefs.jsonl');
const MODEL = 'Qwen/Qwen2-VL-2B-Instruct';
const tmp = mkdtempSync(path.join(tmpdir(), 'mmalign-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const out = () => path.join(tmp, `out${n++}`);
const rows = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('runExport', () => {
  it('refuses an unsupported objective before touching the data', async () => {
    const o = out();
    await expect(
      runExport({ engine: 'trl', objective: 'mdpo', model: MODEL, data: '/no/such/file.jsonl', out: o }),
    ).rejects.toBeInstanceOf(UnsupportedObjectiveError);
    expect(existsSync(o)).toBe(false);
  });

  it('never writes into a non-empty folder', async () => {
    const o = out();
    mkdirSync(o);
    writeFileSync(path.join(o, 'keep.txt'), 'x');
    await expect(runExport({ engine: 'swift', objective: 'dpo', model: MODEL, data: INPUT, out: o })).rejects.toThrow(
      /exists and is not empty/,
    );
  });

  it('reports invalid records with file, line and field, and writes nothing', async () => {
    const data = path.join(tmp, 'bad.jsonl');
    const good = readFileSync(INPUT, 'utf8').split('\n')[0];
    writeFileSync(data, `${good}\n{"id":"x","kind":"pair"}\nnot json\n`);
    const o = out();
    const err = await runExport({ engine: 'swift', objective: 'dpo', model: MODEL, data, out: o }).catch((e) => e);
    expect(err).toBeInstanceOf(RecordValidationError);
    const issues = (err as RecordValidationError).issues;
    expect(issues.some((i) => i.line === 2 && i.file === data)).toBe(true);
    expect(issues.some((i) => i.line === 3 && i.code === 'invalid_json')).toBe(true);
    expect(existsSync(o)).toBe(false);
  });

  it('reads mmalign parquet as well as JSONL', async () => {
    const { FORMATS } = await import('../io/formats/index.ts');
    const { records } = await FORMATS.mmalign.readAll(INPUT, { hashMedia: false });
    const pq = path.join(tmp, 'prefs.parquet');
    // media: none keeps the files where they are, with paths rewritten relative to the parquet's folder.
    await FORMATS.mmalign.write(records, pq, { media: 'none', mediaRoot: path.dirname(INPUT) });
    const r = await runExport({
      engine: 'swift',
      objective: 'dpo',
      model: MODEL,
      data: pq,
      out: out(),
      dryRun: true,
    });
    expect(r.report.records).toBe(10);
    expect(r.report.kept).toBe(8);
  });

  it('a dry run reports and writes nothing', async () => {
    const o = out();
    const r = await runExport({ engine: 'swift', objective: 'dpo', model: MODEL, data: INPUT, out: o, dryRun: true });
    expect(r.written).toEqual([]);
    expect(r.report.kept).toBe(8);
    expect(existsSync(o)).toBe(false);
  });

  it('fails clearly when no row survives', async () => {
    const data = path.join(tmp, 'imgs.jsonl');
    writeFileSync(data, `${readFileSync(INPUT, 'utf8').split('\n')[1]}\n`);
    const media = path.join(HERE, 'golden', 'input');
    await expect(
      runExport({ engine: 'openrlhf', objective: 'dpo', model: MODEL, data, out: out(), mediaRoot: media }),
    ).rejects.toThrow(/no row of .* can be exported to openrlhf for dpo: 1 media_kind_unsupported/);
  });

  it('measures rows with a tokenizer.json and drops the ones truncation would cut', async () => {
    const tok = path.join(tmp, 'tokenizer.json');
    writeFileSync(
      tok,
      JSON.stringify({
        version: '1.0',
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: { type: 'Whitespace' },
        post_processor: null,
        decoder: null,
        model: { type: 'WordLevel', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' },
      }),
    );
    const base = {
      engine: 'swift' as const,
      objective: 'dpo',
      model: MODEL,
      data: INPUT,
      tokenizer: tok,
      dryRun: true,
    };
    // Qwen2-VL: every golden image is 64×48 → 4 tokens. The longest kept row is p-multi: 16 prompt tokens
    // ("What colour is the square ?" 6 + "Blue ." 2 + "And here , which shape is red ?" 8) + 2 images (8) + 5 answer
    // tokens ("The circles are red ." / "The square is red .") = 29.
    const fits = await runExport({ ...base, out: out(), maxLength: 29 });
    expect(fits.report.droppedByReason).toEqual({ binary_needs_kto: 1, rubric_needs_pairing: 1, identical_answers: 1 });
    expect(fits.report.lengthChecked).toBe(true);
    const tight = await runExport({ ...base, out: out(), maxLength: 28 });
    expect(tight.report.dropped.filter((d) => d.reason === 'too_long').map((d) => d.id)).toEqual(['p-multi']);
    const cut = await runExport({ ...base, out: out(), maxLength: 23 });
    expect(cut.report.dropped.find((d) => d.id === 'p-multi')?.reason).toBe('prompt_too_long');
    await expect(runExport({ ...base, out: out(), maxLength: undefined })).rejects.toThrow(/go together/);
    await expect(runExport({ ...base, out: out(), maxLength: 100, model: 'acme/vlm' })).rejects.toThrow(
      /--image-tokens/,
    );
    // A text-only set needs no image-token count, whatever the model.
    const text = path.join(tmp, 'text.jsonl');
    writeFileSync(text, `${readFileSync(INPUT, 'utf8').split('\n')[0]}\n`);
    // "Answer briefly ." + "Is a square a rectangle ?" = 3 + 6 prompt tokens, + 2 answer tokens ("Yes .") = 11.
    const t = await runExport({ ...base, data: text, out: out(), maxLength: 11, model: 'acme/vlm' });
    expect(t.report.kept).toBe(1);
    const t2 = await runExport({ ...base, data: text, out: out(), maxLength: 10, model: 'acme/vlm' });
    expect(t2.report.dropped.map((d) => d.reason)).toEqual(['too_long']);
  });

  it('LLaMA-Factory needs a known chat template', async () => {
    await expect(
      runExport({ engine: 'llamafactory', objective: 'dpo', model: 'acme/vlm', data: INPUT, out: out() }),
    ).rejects.toThrow(/pass --template NAME/);
    const r = await runExport({
      engine: 'llamafactory',
      objective: 'dpo',
      model: 'acme/vlm',
      template: 'gemma3',
      data: INPUT,
      out: out(),
    });
    expect(readFileSync(path.join(r.out, 'llamafactory_train.yaml'), 'utf8')).toContain('template: gemma3');
  });

  it('image_dpo on ms-swift exports only the image pair, with rejected_images', async () => {
    const r = await runExport({ engine: 'swift', objective: 'image_dpo', model: MODEL, data: INPUT, out: out() });
    const [row] = rows(path.join(r.out, 'data', 'train.jsonl'));
    expect(r.report.kept).toBe(1);
    expect(row.id).toBe('p-imgpair');
    expect(row.rejected_response).toBe(row.messages[1].content);
    expect(row.rejected_images).toHaveLength(1);
    expect(r.report.droppedByReason.not_an_image_pair).toBe(9);
  });

  it('KTO: unpaired rows in each engine’s own fields', async () => {
    const trl = await runExport({ engine: 'trl', objective: 'kto', model: MODEL, data: INPUT, out: out() });
    const t = rows(path.join(trl.out, 'data', 'train.jsonl'));
    expect(t.map((r) => [r.id, r.label])).toContainEqual(['p-img#chosen', true]);
    expect(t.map((r) => [r.id, r.label])).toContainEqual(['p-binary', false]);
    expect(t[0].completion[0].role).toBe('assistant');
    const trlConfig = readFileSync(path.join(trl.out, 'trl_config.yaml'), 'utf8');
    expect(trlConfig).toContain('trainer: kto');
    // KTOTrainer refuses a per-device batch of 1; keep_end is refused for vision models.
    expect(trlConfig).toContain('  per_device_train_batch_size: 2\n  gradient_accumulation_steps: 4\n');
    expect(trlConfig).toContain('  truncation_mode: keep_start\n');

    const lf = await runExport({ engine: 'llamafactory', objective: 'kto', model: MODEL, data: INPUT, out: out() });
    const info = JSON.parse(readFileSync(path.join(lf.out, 'data', 'dataset_info.json'), 'utf8'));
    expect(info.mmalign.columns.kto_tag).toBe('kto_tag');
    expect(info.mmalign.ranking).toBeUndefined();
    const lfRows = JSON.parse(readFileSync(path.join(lf.out, 'data', 'mmalign.json'), 'utf8'));
    expect(lfRows.find((r: { id: string }) => r.id === 'p-img#rejected')).toMatchObject({
      kto_tag: false,
      conversations: [
        { from: 'human', value: '<image>How many circles are there?' },
        { from: 'gpt', value: 'There are three circles.' },
      ],
    });

    const sw = await runExport({ engine: 'swift', objective: 'kto', model: MODEL, data: INPUT, out: out() });
    expect(rows(path.join(sw.out, 'data', 'train.jsonl')).find((r) => r.id === 'p-rank#1')).toMatchObject({
      label: true,
      messages: [{ role: 'user' }, { role: 'assistant', content: 'Two red circles.' }],
    });

    // OpenRLHF 0.10 removed train_kto.py: only the flat 0.9 line trains KTO.
    await expect(
      runExport({ engine: 'openrlhf', objective: 'kto', model: MODEL, data: INPUT, out: out() }),
    ).rejects.toThrow('not supported by openrlhf 0.11');
    const or = await runExport({
      engine: 'openrlhf',
      engineVersion: '0.9',
      objective: 'kto',
      model: MODEL,
      data: INPUT,
      out: out(),
    });
    expect(rows(path.join(or.out, 'data', 'train.jsonl')).map((r) => [r.id, r.label])).toEqual([
      ['p-text#chosen', true],
      ['p-text#rejected', false],
    ]);
    // An identical pair would become the same answer labelled good and bad: dropped before unpairing.
    expect(or.report.dropped.find((d) => d.id === 'p-same')?.reason).toBe('identical_answers');
    expect(readFileSync(path.join(or.out, 'launch.sh'), 'utf8')).toContain('--module openrlhf.cli.train_kto');
  });

  it('reward models: LLaMA-Factory stage rm, and ms-swift rm keeps the margin that its DPO rows leave out', async () => {
    const sw = await runExport({ engine: 'swift', objective: 'bt', model: MODEL, data: INPUT, out: out() });
    expect(rows(path.join(sw.out, 'data', 'train.jsonl')).find((r) => r.id === 'p-img')?.margin).toBe(1.5);
    const dpo = await runExport({ engine: 'swift', objective: 'dpo', model: MODEL, data: INPUT, out: out() });
    expect(rows(path.join(dpo.out, 'data', 'train.jsonl')).find((r) => r.id === 'p-img')).not.toHaveProperty('margin');
    expect(readFileSync(path.join(sw.out, 'launch.sh'), 'utf8')).toContain('--rlhf_type rm');
    const lf = await runExport({ engine: 'llamafactory', objective: 'bt', model: MODEL, data: INPUT, out: out() });
    expect(readFileSync(path.join(lf.out, 'llamafactory_train.yaml'), 'utf8')).toMatch(/^stage: rm$/m);
  });
});
