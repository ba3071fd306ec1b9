import { describe, expect, it } from 'vitest';
import { RecordValidationError } from '../util/errors.ts';
import { MediaRef, Message, Provenance } from './common.ts';
import { promptText } from './helpers.ts';
import { PREFERENCE_KINDS, Preference, Response, Sample } from './records.ts';
import { detectRecordType, parseRecord, validateRecord } from './validate.ts';

const sha = 'a'.repeat(64);
const prov = { source: 'test', createdAt: '2026-01-01T00:00:00Z', annotator: { kind: 'human', id: 'ann-1' } } as const;
const img = { kind: 'image', path: `media/aa/${sha}.png`, sha256: sha, width: 4, height: 4 } as const;
const base = {
  id: 'x1',
  sampleId: 's1',
  prompt: [
    {
      role: 'user',
      content: [
        { type: 'image', media: 0 },
        { type: 'text', text: 'Q?' },
      ],
    },
  ],
  media: [img],
  provenance: prov,
} as const;

/** One valid record of every preference kind. */
const VALID: Record<(typeof PREFERENCE_KINDS)[number], unknown> = {
  pair: {
    ...base,
    kind: 'pair',
    chosen: { text: 'a', refLogp: -1.5 },
    rejected: { text: 'b' },
    margin: 0.5,
    rejectedMedia: [img],
  },
  image_pair: { ...base, kind: 'image_pair', response: { text: 'a' }, rejectedMedia: [img], corruption: 'blur' },
  ranking: { ...base, kind: 'ranking', responses: [{ text: 'a' }, { text: 'b' }, { text: 'c' }], ranks: [1, 1, 2] },
  rubric: {
    ...base,
    kind: 'rubric',
    responses: [{ text: 'a', model: 'm' }],
    scores: [{ helpfulness: { score: 4, rationale: 'ok' }, faithfulness: { score: 5 } }],
    scale: [1, 5],
  },
  segments: {
    ...base,
    kind: 'segments',
    rejected: { text: 'a red cat' },
    chosen: { text: 'a red dog' },
    segments: [{ start: 6, end: 9, text: 'cat', correction: 'dog', tag: 'object' }],
  },
  binary: { ...base, kind: 'binary', response: { text: 'a' }, label: false },
};

describe('Preference', () => {
  it.each(PREFERENCE_KINDS)('accepts a valid %s record with no issues', (kind) => {
    const r = Preference.safeParse(VALID[kind]);
    expect(r.success).toBe(true);
    expect(validateRecord('preference', VALID[kind])).toEqual([]);
  });

  it('defaults media to [] and requires an annotator', () => {
    const { media: _m, ...noMedia } = VALID.binary as Record<string, unknown>;
    const p = Preference.parse({ ...noMedia, prompt: [{ role: 'user', content: 'hi' }] });
    expect(p.media).toEqual([]);
    const noAnnotator = { ...(VALID.pair as object), provenance: { source: 's', createdAt: 't' } };
    expect(validateRecord('preference', noAnnotator)).toMatchObject([
      { path: 'provenance.annotator', code: 'zod_invalid_type' },
    ]);
  });

  it('rejects wrong kinds, unknown fields, wrong types and too-short lists, naming each field', () => {
    expect(validateRecord('preference', { ...(VALID.pair as object), kind: 'triple' })[0]).toMatchObject({
      path: 'kind',
    });
    expect(validateRecord('preference', { ...(VALID.pair as object), extra: 1 })[0]).toMatchObject({
      code: 'zod_unrecognized_keys',
    });
    const issues = validateRecord(
      'preference',
      { ...(VALID.pair as object), chosen: { text: 3 }, margin: 'x' },
      { file: 'f.jsonl', line: 9 },
    );
    expect(issues.map((i) => [i.path, i.file, i.line])).toEqual([
      ['chosen.text', 'f.jsonl', 9],
      ['margin', 'f.jsonl', 9],
    ]);
    expect(
      validateRecord('preference', { ...(VALID.ranking as object), responses: [{ text: 'a' }], ranks: [1] }).map(
        (i) => i.path,
      ),
    ).toEqual(['responses', 'ranks']);
    expect(validateRecord('preference', { ...(VALID.image_pair as object), rejectedMedia: [] })[0].path).toBe(
      'rejectedMedia',
    );
    expect(validateRecord('preference', { ...(VALID.ranking as object), ranks: [1, 0, 2] })[0].path).toBe('ranks.1');
    expect(validateRecord('preference', { ...(VALID.binary as object), label: 'yes' })[0].path).toBe('label');
    expect(
      validateRecord('preference', {
        ...(VALID.pair as object),
        provenance: { ...prov, annotator: { kind: 'crowd', id: 'x' } },
      })[0].path,
    ).toBe('provenance.annotator.kind');
  });

  it('preferenceIssues: consistency beyond the shape', () => {
    const r = VALID.ranking as Record<string, unknown>;
    expect(validateRecord('preference', { ...r, ranks: [1, 2] })).toMatchObject([
      { path: 'ranks', message: '2 ranks for 3 responses', code: 'inconsistent' },
    ]);
    const ru = VALID.rubric as Record<string, unknown>;
    expect(validateRecord('preference', { ...ru, scores: [{}, {}] })).toMatchObject([
      { path: 'scores', message: '2 score sets for 1 responses' },
    ]);
    const s = VALID.segments as { segments: object[] };
    expect(
      validateRecord('preference', { ...s, segments: [{ start: 6, end: 9, text: 'dog', correction: 'x' }] }),
    ).toMatchObject([{ path: 'segments.0.text', message: 'does not match the rejected text at [6, 9)' }]);
    expect(
      validateRecord('preference', { ...s, segments: [{ start: 6, end: 99, text: 'cat', correction: 'x' }] }),
    ).toMatchObject([{ path: 'segments.0', message: 'span [6, 99) is outside the rejected text (length 9)' }]);
    const pointsPast = {
      ...(VALID.pair as object),
      prompt: [{ role: 'user', content: [{ type: 'image', media: 1 }] }],
    };
    expect(validateRecord('preference', pointsPast, { file: 'a', line: 2 })).toMatchObject([
      { path: 'prompt.0.content.0.media', message: 'points at media #1 but the record has 1', file: 'a', line: 2 },
    ]);
  });
});

describe('Sample, Response, media and messages', () => {
  const sample = {
    id: 's1',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text: 'What?' },
        ],
      },
    ],
    media: [img, { kind: 'video', frames: [img], fps: 2 }, { kind: 'audio', path: 'a.wav', sampleRate: 16000 }],
    truth: { objects: [{ name: 'cube', attributes: { color: 'red' }, box: [1, 2, 3, 4] }], answer: 2, custom: 'kept' },
    provenance: { source: 'world', createdAt: 't' },
  };
  it('accepts a sample with image, frame video and audio media and keeps unknown truth keys', () => {
    const s = Sample.parse(sample);
    expect(s.truth?.custom).toBe('kept');
    expect(detectRecordType(sample)).toBe('sample');
  });

  it('rejects bad media refs and message parts', () => {
    expect(MediaRef.safeParse({ kind: 'image', path: 'x.png', sha256: 'ABC' }).success).toBe(false);
    expect(MediaRef.safeParse({ kind: 'image', path: '' }).success).toBe(false);
    expect(MediaRef.safeParse({ kind: 'image', path: 'x', width: 0 }).success).toBe(false);
    expect(MediaRef.safeParse({ kind: 'gif', path: 'x' }).success).toBe(false);
    expect(Message.safeParse({ role: 'tool', content: 'x' }).success).toBe(false);
    expect(Message.safeParse({ role: 'user', content: [{ type: 'image', media: -1 }] }).success).toBe(false);
    expect(validateRecord('sample', { ...sample, messages: [] })[0].path).toBe('messages');
  });

  it('Response: requires sampleId, text and model', () => {
    const r = {
      id: 'r',
      sampleId: 's',
      text: 'hi',
      model: 'm',
      logprobs: [{ token: 'hi', logprob: -0.1 }],
      provenance: { source: 's', createdAt: 't' },
    };
    expect(Response.safeParse(r).success).toBe(true);
    expect(detectRecordType(r)).toBe('response');
    expect(validateRecord('response', { ...r, model: undefined })[0].path).toBe('model');
    expect(Provenance.safeParse({ source: '', createdAt: 't' }).success).toBe(false);
  });

  it('parseRecord throws one RecordValidationError listing every field', () => {
    try {
      parseRecord(Sample, { id: '', messages: 'x' }, { file: 'f', line: 3 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RecordValidationError);
      const paths = (e as RecordValidationError).issues.map((i) => i.path);
      expect(paths).toEqual(['id', 'messages', 'provenance']);
      expect((e as Error).message).toContain('f:3: id: ');
    }
  });

  it('promptText shows media as placeholders', () => {
    expect(promptText(sample.messages as Message[])).toBe('<image>What?');
    expect(promptText(sample.messages as Message[], false)).toBe('What?');
    expect(detectRecordType({ foo: 1 })).toBeUndefined();
  });
});
