import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import type { Preference, PreferenceOf, Sample } from '../../schema/index.ts';
import { fixturePreferences, fixtureSamples, solidPng } from '../fixtures.ts';
import { MediaStore } from '../media.ts';
import { FORMAT_NAMES, FORMATS, getFormat, summaryLine } from './index.ts';
import type { DropCount } from './types.ts';

let dir: string;
let cleanup: () => void;
let P: Awaited<ReturnType<typeof fixturePreferences>>;
let samples: Sample[];
let all: Preference[];
beforeAll(async () => {
  ({ dir, cleanup } = tempDir('mmalign-formats-'));
  const store = new MediaStore(path.join(dir, 'src'));
  P = await fixturePreferences(store);
  samples = await fixtureSamples(store);
  all = Object.values(P);
});
afterAll(() => cleanup());

const src = () => path.join(dir, 'src');
const out = (name: string) => path.join(dir, name);

/** The fields every pair-holding format keeps: prompt x, media I, y_w, y_l. */
function pairCore(p: Preference) {
  if (p.kind !== 'pair' && p.kind !== 'segments') throw new Error(`not a pair: ${p.kind}`);
  return { prompt: p.prompt, media: p.media, chosen: p.chosen.text, rejected: p.rejected.text };
}
const recordDrops = (d: DropCount[]) =>
  Object.fromEntries(d.filter((x) => x.scope === 'record').map((x) => [x.reason, x.count]));

describe('FORMATS table', () => {
  it('lists every format of formats.md and refuses unknown names with the known list', () => {
    expect(FORMAT_NAMES).toEqual(['mmalign', 'trl', 'llamafactory', 'swift', 'rlaifv', 'vlfeedback', 'llava']);
    expect(() => getFormat('sharegpt')).toThrow(/unknown format "sharegpt"; known: mmalign, trl, llamafactory/);
    for (const f of Object.values(FORMATS)) expect(f.description.length).toBeGreaterThan(20);
  });
});

describe('round trips: records → format → records keeps what the format holds', () => {
  it('mmalign (JSONL) is lossless for every record', async () => {
    const f = out('mm/set.jsonl');
    const s = await FORMATS.mmalign.write([...all, ...samples], f, { mediaRoot: src() });
    expect(s).toMatchObject({ written: all.length + samples.length, dropped: [] });
    const back = await FORMATS.mmalign.readAll(f);
    expect(back.issues).toEqual([]);
    expect(back.records).toEqual([...all, ...samples]);
  });

  it('trl keeps pairs (and segments as pairs), reports every other kind as dropped', async () => {
    const f = out('trl/train.jsonl');
    const s = await FORMATS.trl.write(all, f, { mediaRoot: src() });
    expect(s.written).toBe(3);
    expect(recordDrops(s.dropped)).toEqual({
      'ranking (TRL holds pairs only; pass binarize to keep best vs worst)': 1,
      'rubric (TRL holds pairs only; pass binarize to keep best vs worst)': 1,
      'image_pair (TRL has no field for rejected images)': 1,
      'binary label (TRL preference rows need a chosen and a rejected answer)': 1,
      'pair with rejectedMedia (TRL has no rejected images)': 1,
    });
    expect(s.dropped).toContainEqual({ reason: 'margin', count: 1, scope: 'field' });
    expect(s.dropped).toContainEqual({
      reason: 'segments (span corrections; kept as a pair)',
      count: 1,
      scope: 'field',
    });
    const row = JSON.parse(readFileSync(f, 'utf8').split('\n')[0]);
    expect(row).toEqual({
      prompt: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the image?' }] }],
      chosen: [{ role: 'assistant', content: [{ type: 'text', text: 'A red square.' }] }],
      rejected: [{ role: 'assistant', content: [{ type: 'text', text: 'A red square and a cat.' }] }],
      images: [P.pair.media[0].path],
    });
    const back = await FORMATS.trl.readAll(f);
    expect(back.issues).toEqual([]);
    expect(back.records.map(pairCore)).toEqual([P.pair, P.multiturn, P.segments].map(pairCore));
  });

  it('trl with binarize turns rankings and rubrics into best-vs-worst pairs', async () => {
    const s = await FORMATS.trl.write([P.ranking, P.rubric], out('trlb/t.jsonl'), { mediaRoot: src(), binarize: true });
    expect(s.written).toBe(2);
    const back = await FORMATS.trl.readAll(out('trlb/t.jsonl'));
    expect(back.records.map((r) => (r.kind === 'pair' ? [r.chosen.text, r.rejected.text] : r.kind))).toEqual([
      ['best', 'worst'],
      ['Blue.', 'Purple.'],
    ]);
    const byAspect = await FORMATS.trl.write([P.rubric], out('trlb/a.jsonl'), {
      mediaRoot: src(),
      binarize: true,
      rubricAspect: 'Nope',
    });
    expect(recordDrops(byAspect.dropped)).toEqual({ 'rubric with fewer than 2 scored responses on aspect "Nope"': 1 });
  });

  it('llamafactory keeps pairs with system prompt, multi-turn and multi-image, and registers ranking: true', async () => {
    const f = out('lf/mm_pref.json');
    mkdirSync(out('lf'), { recursive: true });
    writeFileSync(out('lf/dataset_info.json'), JSON.stringify({ other: { file_name: 'x.json' } }));
    const s = await FORMATS.llamafactory.write(all, f, { mediaRoot: src() });
    expect(s.written).toBe(3);
    expect(s.files).toEqual([f, out('lf/dataset_info.json')]);
    const info = JSON.parse(readFileSync(out('lf/dataset_info.json'), 'utf8'));
    expect(info.other).toEqual({ file_name: 'x.json' });
    expect(info.mm_pref).toMatchObject({ file_name: 'mm_pref.json', formatting: 'sharegpt', ranking: true });
    expect(info.mm_pref.columns).toMatchObject({
      messages: 'conversations',
      chosen: 'chosen',
      rejected: 'rejected',
      images: 'images',
    });
    const rows = JSON.parse(readFileSync(f, 'utf8'));
    expect(rows[1]).toEqual({
      conversations: [
        { from: 'human', value: '<image>Compare <image> please.' },
        { from: 'gpt', value: 'One is red.' },
        { from: 'human', value: 'And the other?' },
      ],
      chosen: { from: 'gpt', value: 'Blue.' },
      rejected: { from: 'gpt', value: 'Green.' },
      system: 'You describe images.',
      images: P.multiturn.media.map((m) => m.path),
      videos: [],
      audios: [],
    });
    const back = await FORMATS.llamafactory.readAll(f);
    expect(back.issues).toEqual([]);
    expect(back.records.map(pairCore)).toEqual([P.pair, P.multiturn, P.segments].map(pairCore));
  });

  it('swift keeps pairs, image pairs (rejected_images), KTO labels and margins', async () => {
    const f = out('swift/d.jsonl');
    const s = await FORMATS.swift.write(all, f, { mediaRoot: src() });
    expect(s.written).toBe(6);
    expect(recordDrops(s.dropped)).toEqual({
      'ranking (ms-swift holds pairs only; pass binarize to keep best vs worst)': 1,
      'rubric (ms-swift holds pairs only; pass binarize to keep best vs worst)': 1,
    });
    const rows = readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows[3]).toEqual({
      messages: [
        { role: 'user', content: '<image>Describe.' },
        { role: 'assistant', content: 'A red square.' },
      ],
      images: [P.imagePair.media[0].path],
      rejected_images: [(P.imagePair as PreferenceOf<'image_pair'>).rejectedMedia[0].path],
    });
    const back = await FORMATS.swift.readAll(f);
    expect(back.issues).toEqual([]);
    const [pair, multi, seg, imagePair, binary, rejImg] = back.records;
    expect([pair, multi, seg].map(pairCore)).toEqual([P.pair, P.multiturn, P.segments].map(pairCore));
    expect(pair.kind === 'pair' && pair.margin).toBe(1.5);
    const ip = P.imagePair as PreferenceOf<'image_pair'>;
    expect(imagePair).toMatchObject({
      kind: 'image_pair',
      prompt: ip.prompt,
      media: ip.media,
      response: ip.response,
      rejectedMedia: ip.rejectedMedia,
    });
    const b = P.binary as PreferenceOf<'binary'>;
    expect(binary).toMatchObject({
      kind: 'binary',
      prompt: b.prompt,
      media: b.media,
      response: b.response,
      label: true,
    });
    const ri = P.rejectedImages as PreferenceOf<'pair'>;
    expect(rejImg).toMatchObject({ kind: 'pair', rejectedMedia: ri.rejectedMedia });
    expect(pairCore(rejImg)).toEqual(pairCore(ri));
  });

  it('swift --kinds writes only the chosen kinds and counts the rest', async () => {
    const s = await FORMATS.swift.write(all, out('swiftk/d.jsonl'), { mediaRoot: src(), kinds: ['image_pair'] });
    expect(s.written).toBe(1);
    expect(recordDrops(s.dropped)).toEqual({
      'pair (not among the selected kinds image_pair)': 3,
      'segments (not among the selected kinds image_pair)': 1,
      'ranking (not among the selected kinds image_pair)': 1,
      'rubric (not among the selected kinds image_pair)': 1,
      'binary (not among the selected kinds image_pair)': 1,
    });
  });

  for (const ext of ['.jsonl', '.parquet'] as const) {
    it(`rlaifv (${ext}) keeps single-image single-turn pairs${ext === '.parquet' ? ' with the image bytes embedded' : ''}`, async () => {
      const f = out(`rlaifv${ext}/train${ext}`);
      const s = await FORMATS.rlaifv.write(all, f, { mediaRoot: src() });
      expect(s.written).toBe(2);
      expect(recordDrops(s.dropped)['2 media (RLAIF-V rows hold exactly one image)']).toBe(1);
      expect(s.dropped).toContainEqual({
        reason: 'refLogp (RLAIF-V logps also need average and per-token log-probs)',
        count: 1,
        scope: 'field',
      });
      if (ext === '.parquet') {
        // The images come back from the bytes column even when the media folder is gone.
        const { rmSync } = await import('node:fs');
        rmSync(out(`rlaifv${ext}/media`), { recursive: true });
      }
      const back = await FORMATS.rlaifv.readAll(f);
      expect(back.issues).toEqual([]);
      expect(back.records.map(pairCore)).toEqual([P.pair, P.segments].map(pairCore));
    });
  }

  it('vlfeedback keeps rubric preferences (every completion with per-aspect Rating/Rationale)', async () => {
    const f = out('vlf/vlf.jsonl');
    const s = await FORMATS.vlfeedback.write(all, f, { mediaRoot: src() });
    expect(s.written).toBe(1);
    const row = JSON.parse(readFileSync(f, 'utf8'));
    expect(row.completions[1]).toEqual({
      model: 'llava',
      response: 'Purple.',
      annotations: { Helpfulness: { Rating: '2', Rationale: 'wrong hue' }, 'Visual Faithfulness': { Rating: '1' } },
    });
    const back = await FORMATS.vlfeedback.readAll(f);
    expect(back.issues).toEqual([]);
    const r = P.rubric as PreferenceOf<'rubric'>;
    expect(back.records[0]).toMatchObject({
      kind: 'rubric',
      id: r.id,
      sampleId: r.sampleId,
      prompt: r.prompt,
      media: r.media,
      responses: r.responses,
      scores: r.scores,
    });
  });

  it('llava keeps SFT samples (last gpt turn = reference) and drops samples without an answer', async () => {
    const f = out('llava/sft.json');
    const s = await FORMATS.llava.write(samples, f, { mediaRoot: src() });
    expect(s.written).toBe(3);
    expect(recordDrops(s.dropped)).toEqual({
      'sample without a reference answer (LLaVA rows are SFT conversations)': 1,
    });
    expect(JSON.parse(readFileSync(f, 'utf8'))[0]).toEqual({
      id: 'l1',
      image: samples[0].media[0].path,
      conversations: [
        { from: 'human', value: '<image>\nWhat colour?' },
        { from: 'gpt', value: 'Red.' },
      ],
    });
    const back = await FORMATS.llava.readAll(f);
    expect(back.issues).toEqual([]);
    const core = (x: Sample) => ({ id: x.id, messages: x.messages, media: x.media, reference: x.reference });
    expect(back.records.map(core)).toEqual(samples.slice(0, 3).map(core));
  });

  it('refuses records of the wrong family instead of mangling them', async () => {
    const s = await FORMATS.trl.write(samples as never, out('wrong/t.jsonl'), { mediaRoot: src() });
    expect(s.written).toBe(0);
    expect(recordDrops(s.dropped)).toEqual({ 'sample record (trl holds preferences)': 4 });
    expect(summaryLine(s)).toContain('dropped 4 records (sample record (trl holds preferences) ×4)');
  });
});

describe('reading rows as the field writes them', () => {
  it('trl: HF rlaif-v_formatted rows (image parts with text: null)', async () => {
    writeFileSync(path.join(src(), 'a.png'), solidPng(3, 2, [1, 2, 3]));
    const row = {
      chosen: [{ content: [{ text: 'Yes.', type: 'text' }], role: 'assistant' }],
      rejected: [{ content: [{ text: 'No.', type: 'text' }], role: 'assistant' }],
      images: ['a.png'],
      prompt: [
        {
          content: [
            { text: null, type: 'image' },
            { text: 'Is it?', type: 'text' },
          ],
          role: 'user',
        },
      ],
    };
    const { records, issues } = await FORMATS.trl.readAll([row], { mediaRoot: src() });
    expect(issues).toEqual([]);
    expect(records[0]).toMatchObject({
      kind: 'pair',
      prompt: [
        {
          role: 'user',
          content: [
            { type: 'image', media: 0 },
            { type: 'text', text: 'Is it?' },
          ],
        },
      ],
      media: [{ kind: 'image', path: 'a.png', width: 3, height: 2 }],
      chosen: { text: 'Yes.' },
      rejected: { text: 'No.' },
      provenance: { annotator: { kind: 'human', id: 'unknown' }, extra: { annotatorUnknown: true } },
    });
  });

  it('trl: Hugging Face Image structs {bytes, path} are stored content-addressed (bytes win over the path)', async () => {
    const png = solidPng(4, 3, [7, 7, 7]);
    const row = {
      prompt: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Q' }] }],
      chosen: [{ role: 'assistant', content: [{ type: 'text', text: 'a' }] }],
      rejected: [{ role: 'assistant', content: [{ type: 'text', text: 'b' }] }],
      images: [{ bytes: new Uint8Array(png), path: '/home/uploader/img.png' }],
    };
    const root = out('hf');
    const { records, issues } = await FORMATS.trl.readAll([row], { mediaRoot: root });
    expect(issues).toEqual([]);
    const ref = records[0].media[0];
    expect(ref).toMatchObject({ kind: 'image', width: 4, height: 3 });
    expect(ref.path).toMatch(/^media\/[0-9a-f]{2}\/[0-9a-f]{64}\.png$/);
    expect(readFileSync(path.join(root, ref.path ?? ''))).toEqual(png);
    const bad = await FORMATS.trl.readAll([{ ...row, images: [42] }], { mediaRoot: root });
    expect(bad.issues).toMatchObject([
      { path: 'images.0', message: 'expected the image as a path, bytes or {bytes, path}, got a number' },
    ]);
  });

  it('names line and field when placeholders and media disagree or a file is missing', async () => {
    const f = path.join(src(), 'lf-bad.jsonl');
    const ok = {
      conversations: [{ from: 'human', value: '<image>Q' }],
      chosen: { from: 'gpt', value: 'a' },
      rejected: { from: 'gpt', value: 'b' },
      images: ['a.png'],
    };
    writeFileSync(
      f,
      [ok, { ...ok, images: ['a.png', 'a.png'] }, { ...ok, images: ['gone.png'] }, { ...ok, chosen: 5 }]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const { records, issues } = await FORMATS.llamafactory.readAll(f);
    expect(records).toHaveLength(1);
    expect(issues).toMatchObject([
      { file: f, line: 2, path: 'images', code: 'media_count' },
      { file: f, line: 3, path: 'images.0', code: 'media_missing' },
      { file: f, line: 4, path: 'chosen', code: 'bad_field' },
    ]);
    expect(issues[0].message).toBe('2 images but 1 <image> placeholder(s) in the text; they must match');
  });

  it('rlaifv: logps sums become refLogp, origin fields go to provenance', async () => {
    const row = {
      ds_name: 'RLAIF-V',
      question: 'What?',
      chosen: 'c',
      rejected: 'r',
      image_path: 'a.png',
      origin_dataset: 'VQAv2',
      origin_split: 'train',
      idx: 17,
      logps: JSON.stringify({ logps: [-10.5, -0.5, [-0.25, -0.25], -20.25, -1.25, [-1, -1]] }),
    };
    const { records, issues } = await FORMATS.rlaifv.readAll([row], { mediaRoot: src() });
    expect(issues).toEqual([]);
    expect(records[0]).toMatchObject({
      chosen: { text: 'c', refLogp: -10.5 },
      rejected: { text: 'r', refLogp: -20.25 },
      provenance: {
        source: 'VQAv2',
        annotator: { kind: 'open_model', id: 'rlaif-v' },
        extra: { ds_name: 'RLAIF-V', origin_dataset: 'VQAv2', origin_split: 'train', idx: 17 },
      },
    });
  });

  it('vlfeedback: "N/A" ratings are left out, numeric strings parsed', async () => {
    const row = {
      id: 'svit-1',
      prompt: 'Describe.',
      img_path: 'a.png',
      models: ['m1', 'm2'],
      completions: [
        {
          model: 'm1',
          response: 'x',
          annotations: {
            Helpfulness: { Rating: '4', Rationale: 'ok' },
            'Ethical Considerations': { Rating: 'N/A', Rationale: '-' },
          },
        },
        { model: 'm2', response: 'y', annotations: { Helpfulness: { Rating: '1', Rationale: 'bad' } } },
      ],
    };
    const { records, issues } = await FORMATS.vlfeedback.readAll([row], { mediaRoot: src() });
    expect(issues).toEqual([]);
    expect(records[0]).toMatchObject({
      kind: 'rubric',
      id: 'svit-1',
      scores: [{ Helpfulness: { score: 4, rationale: 'ok' } }, { Helpfulness: { score: 1, rationale: 'bad' } }],
      provenance: { annotator: { kind: 'closed_model', id: 'gpt-4v' } },
    });
  });

  it('llamafactory kto_tag rows and swift label rows are binary preferences', async () => {
    const lf = await FORMATS.llamafactory.readAll(
      [
        {
          conversations: [
            { from: 'human', value: 'Q' },
            { from: 'gpt', value: 'A' },
          ],
          kto_tag: false,
        },
      ],
      { mediaRoot: src() },
    );
    expect(lf.issues).toEqual([]);
    expect(lf.records[0]).toMatchObject({
      kind: 'binary',
      response: { text: 'A' },
      label: false,
      prompt: [{ role: 'user', content: 'Q' }],
    });
    const sw = await FORMATS.swift.readAll(
      [
        {
          messages: [
            { role: 'user', content: 'Q' },
            { role: 'assistant', content: 'A' },
          ],
          label: 1,
        },
      ],
      { mediaRoot: src() },
    );
    expect(sw.records[0]).toMatchObject({ kind: 'binary', label: true });
  });
});

describe('write-side media problems', () => {
  it('drops a record whose image file is missing or altered, naming the record and field', async () => {
    const pair = P.pair as PreferenceOf<'pair'>;
    const gone = { ...pair, id: 'gone', media: [{ ...pair.media[0], path: 'media/00/none.png' }] };
    const altered = { ...pair, id: 'alt', media: [{ ...pair.media[0], sha256: 'b'.repeat(64) }] };
    const s = await FORMATS.trl.write([pair, gone, altered], out('wm/t.jsonl'), { mediaRoot: src() });
    expect(s.written).toBe(1);
    expect(s.dropped.filter((d) => d.scope === 'record')).toEqual([
      {
        reason: 'media_missing: media.0',
        count: 1,
        scope: 'record',
        example: `record #2 (gone): missing image file media/00/none.png (looked at ${path.join(src(), 'media/00/none.png')})`,
      },
      {
        reason: 'media_sha256: media.0.sha256',
        count: 1,
        scope: 'record',
        example: expect.stringMatching(/^record #3 \(alt\): media\/.*\.png: file sha256 [0-9a-f]{64} differs/),
      },
    ]);
  });
});

describe('round trips: rows of a format → records → the same format gives the same rows', () => {
  /** Canonical rows as each system writes them, over an image already in the store layout. */
  const rowsFor = (img: string): Record<string, Record<string, unknown>[]> => ({
    trl: [
      {
        prompt: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is it?' }] },
        ],
        chosen: [{ role: 'assistant', content: [{ type: 'text', text: 'A square.' }] }],
        rejected: [{ role: 'assistant', content: [{ type: 'text', text: 'A cat.' }] }],
        images: [img],
      },
    ],
    llamafactory: [
      {
        conversations: [
          { from: 'human', value: '<image>What is it?' },
          { from: 'gpt', value: 'A square.' },
          { from: 'human', value: 'Colour?' },
        ],
        chosen: { from: 'gpt', value: 'Red.' },
        rejected: { from: 'gpt', value: 'Blue.' },
        system: 'Be brief.',
        images: [img],
        videos: [],
        audios: [],
      },
    ],
    swift: [
      {
        messages: [
          { role: 'user', content: '<image>What is it?' },
          { role: 'assistant', content: 'A square.' },
        ],
        rejected_response: 'A cat.',
        margin: 2,
        images: [img],
      },
      {
        messages: [
          { role: 'user', content: '<image>What is it?' },
          { role: 'assistant', content: 'A square.' },
        ],
        images: [img],
        rejected_images: [img],
      },
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.' },
        ],
        label: false,
        images: [],
      },
    ],
    rlaifv: [
      {
        ds_name: 'RLAIF-V',
        question: 'What is it?',
        chosen: 'A square.',
        rejected: 'A cat.',
        image_path: img,
        origin_dataset: 'VQAv2',
        origin_split: 'train',
        idx: 3,
      },
    ],
    vlfeedback: [
      {
        id: 'q1',
        prompt: 'What is it?',
        img_path: img,
        models: ['a', 'b'],
        completions: [
          { model: 'a', response: 'A square.', annotations: { Helpfulness: { Rating: '5', Rationale: 'right' } } },
          { model: 'b', response: 'A cat.', annotations: { Helpfulness: { Rating: '1', Rationale: 'wrong' } } },
        ],
      },
    ],
    llava: [
      {
        id: '000001',
        image: img,
        conversations: [
          { from: 'human', value: '<image>\nWhat is it?' },
          { from: 'gpt', value: 'A square.' },
          { from: 'human', value: 'Sure?' },
          { from: 'gpt', value: 'Yes.' },
        ],
      },
    ],
  });

  for (const name of ['trl', 'llamafactory', 'swift', 'rlaifv', 'vlfeedback', 'llava'] as const) {
    it(name, async () => {
      const img = P.pair.media[0].path ?? '';
      const rows = rowsFor(img)[name];
      const f = path.join(src(), `rt-${name}.jsonl`);
      writeFileSync(f, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
      const adapter = FORMATS[name];
      const { records, issues } = await adapter.readAll(f);
      expect(issues).toEqual([]);
      const again = path.join(src(), `rt-${name}-again.jsonl`);
      const s = await adapter.write(records as never, again, { mediaRoot: src() });
      expect(s.dropped.filter((d) => d.scope === 'record')).toEqual([]);
      const back = readFileSync(again, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(back).toEqual(rows);
    });
  }
});
