import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../io/media.ts';
import type { MediaRef, Message } from '../schema/index.ts';
import { imageTokenRule } from './image-tokens.ts';
import { alignPlaceholders, type LengthCheck, type PreflightOptions, preflight } from './preflight.ts';
import type { BinaryUnit, PairUnit, Unit } from './units.ts';

let dir: string;
function png(name: string, w: number, h: number): void {
  const p = new PNG({ width: w, height: h });
  p.data.fill(200);
  writeFileSync(path.join(dir, name), PNG.sync.write(p));
}
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mmalign-preflight-'));
  png('a.png', 64, 48);
  png('b.png', 64, 48);
  png('big.png', 640, 480);
  png('tiny.png', 20, 20);
  writeFileSync(path.join(dir, 'garbage.png'), Buffer.from('not an image at all, just text'));
  // A valid PNG header (IHDR) with the pixel data cut off: the header check passes, decoding fails.
  writeFileSync(path.join(dir, 'truncated.png'), readFileSync(path.join(dir, 'big.png')).subarray(0, 60));
  writeFileSync(path.join(dir, 'clip.mp4'), Buffer.from('fake video bytes'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const img = (p: string, extra: Partial<MediaRef> = {}): MediaRef => ({ kind: 'image', path: p, ...extra }) as MediaRef;
const ask = (text = 'How many circles ?'): Message[] => [
  {
    role: 'user',
    content: [
      { type: 'image', media: 0 },
      { type: 'text', text },
    ],
  },
];
const pair = (over: Partial<PairUnit> = {}): PairUnit => ({
  id: 'u',
  source: 'u',
  line: 7,
  from: 'pair',
  kind: 'pair',
  prompt: ask(),
  media: [img('a.png')],
  chosen: 'two',
  rejected: 'three circles',
  ...over,
});
const opts = (over: Partial<PreflightOptions> = {}): PreflightOptions => ({
  engine: 'llamafactory',
  data: 'pairs',
  mediaRoot: dir,
  ...over,
});
async function one(u: Unit, o: Partial<PreflightOptions> = {}) {
  const r = await preflight([u], opts(o));
  return { ready: r.ready[0], drop: r.drops[0], warnings: r.warnings };
}

describe('pre-flight: placeholders vs media', () => {
  it('keeps a well-formed image pair, numbering media parts in reading order', async () => {
    const { ready, drop } = await one(pair());
    expect(drop).toBeUndefined();
    expect(ready.fixes).toEqual([]);
    expect(ready.media.map((m) => [m.kind, m.width, m.height, m.ext])).toEqual([['image', 64, 48, 'png']]);
    expect(ready.media[0].sha256).toBe(sha256Hex(readFileSync(path.join(dir, 'a.png'))));
  });

  it('parses literal <image> text into parts when the count matches (fixed)', async () => {
    const { ready } = await one(
      pair({ prompt: [{ role: 'user', content: 'Left <image> right <image>?' }], media: [img('a.png'), img('b.png')] }),
    );
    expect(ready.fixes).toEqual(['parsed 2 literal placeholder(s) into media parts']);
    expect(ready.prompt[0].content).toEqual([
      { type: 'text', text: 'Left ' },
      { type: 'image', media: 0 },
      { type: 'text', text: ' right ' },
      { type: 'image', media: 1 },
      { type: 'text', text: '?' },
    ]);
  });

  it('drops literal placeholders whose count differs from the media', async () => {
    const { drop } = await one(pair({ prompt: [{ role: 'user', content: '<image><image> compare' }] }));
    expect(drop.reason).toBe('placeholder_count_mismatch');
    expect(drop.detail).toContain('2 <image> placeholder(s) in the text but 1 image file(s)');
    expect(drop.line).toBe(7);
  });

  it('drops a prompt mixing literal placeholders and media parts', async () => {
    const p: Message[] = [
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text: 'and <image>' },
        ],
      },
    ];
    expect((await one(pair({ prompt: p, media: [img('a.png'), img('b.png')] }))).drop.reason).toBe(
      'placeholder_count_mismatch',
    );
  });

  it('adds placeholders when a prompt has media but none (fixed)', async () => {
    const { ready } = await one(pair({ prompt: [{ role: 'user', content: 'What is this?' }] }));
    expect(ready.fixes).toEqual(['added 1 missing placeholder(s) at the start of the first user turn']);
    expect(ready.prompt[0].content).toEqual([
      { type: 'image', media: 0 },
      { type: 'text', text: 'What is this?' },
    ]);
  });

  it('drops media referenced by some parts but not others', async () => {
    const { drop } = await one(pair({ media: [img('a.png'), img('b.png')] }));
    expect(drop.reason).toBe('unreferenced_media');
    expect(drop.detail).toContain('media #1');
  });

  it('reorders media to placeholder order (fixed)', async () => {
    const p: Message[] = [
      {
        role: 'user',
        content: [
          { type: 'image', media: 1 },
          { type: 'image', media: 0 },
          { type: 'text', text: '?' },
        ],
      },
    ];
    const { ready } = await one(pair({ prompt: p, media: [img('a.png'), img('b.png')] }));
    expect(ready.fixes).toEqual(['reordered media to placeholder order']);
    expect(ready.media.map((m) => path.basename(m.abs))).toEqual(['b.png', 'a.png']);
  });

  it('drops out-of-range and wrong-kind media parts', async () => {
    const p: Message[] = [{ role: 'user', content: [{ type: 'image', media: 3 }] }];
    expect((await one(pair({ prompt: p }))).drop.reason).toBe('media_index_out_of_range');
    const v: Message[] = [{ role: 'user', content: [{ type: 'video', media: 0 }] }];
    expect((await one(pair({ prompt: v }))).drop.reason).toBe('placeholder_kind_mismatch');
  });

  it('drops answers containing a literal placeholder', async () => {
    const { drop } = await one(pair({ chosen: 'See <image> here' }));
    expect(drop.reason).toBe('placeholder_in_answer');
  });

  it('alignPlaceholders leaves text-only prompts untouched', () => {
    const r = alignPlaceholders([{ role: 'user', content: 'hi' }], []);
    expect(r).toEqual({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], order: [], fixes: [] });
  });
});

describe('pre-flight: media files', () => {
  it('drops a missing image', async () => {
    const { drop } = await one(pair({ media: [img('nope.png')] }));
    expect(drop.reason).toBe('media_missing');
    expect(drop.detail).toContain(path.join(dir, 'nope.png'));
  });

  it('drops bytes that are not an image, a truncated image, and a sha256 mismatch', async () => {
    expect((await one(pair({ media: [img('garbage.png')] }))).drop.reason).toBe('media_unreadable');
    const t = await one(pair({ media: [img('truncated.png')] }));
    expect(t.drop.reason).toBe('media_unreadable');
    expect(t.drop.detail).toContain('cannot decode');
    const s = await one(pair({ media: [img('a.png', { sha256: '0'.repeat(64) })] }));
    expect(s.drop.reason).toBe('media_unreadable');
    expect(s.drop.detail).toContain('sha256');
  });

  it('drops a media kind the engine cannot read', async () => {
    const v: Message[] = [
      {
        role: 'user',
        content: [
          { type: 'video', media: 0 },
          { type: 'text', text: '?' },
        ],
      },
    ];
    const u = pair({ prompt: v, media: [{ kind: 'video', path: 'clip.mp4' }] });
    expect((await one(u, { engine: 'trl' })).drop.reason).toBe('media_kind_unsupported');
    expect((await one(u, { engine: 'swift' })).ready.media[0].kind).toBe('video');
    expect((await one(pair(), { engine: 'openrlhf' })).drop.detail).toContain(
      'openrlhf reads text only; the row has an image',
    );
  });
});

describe('pre-flight: answers and turns', () => {
  it('drops empty chosen / rejected / binary answers', async () => {
    expect((await one(pair({ chosen: '  ' }))).drop.detail).toContain('chosen is empty');
    expect((await one(pair({ rejected: '' }))).drop.detail).toContain('rejected is empty');
    const b: BinaryUnit = { ...pair(), kind: 'binary', completion: '', label: true };
    expect((await one(b)).drop.reason).toBe('empty_answer');
  });

  it('drops chosen == rejected, unless the images differ (an image pair)', async () => {
    expect((await one(pair({ rejected: 'two ' }))).drop.reason).toBe('identical_answers');
    const ip = pair({ rejected: 'two', rejectedMedia: [img('b.png')] });
    const ok = await one(ip, { engine: 'swift' });
    expect(ok.ready.rejectedMedia?.map((m) => path.basename(m.abs))).toEqual(['b.png']);
    const same = await one(pair({ rejected: 'two', rejectedMedia: [img('a.png')] }), { engine: 'swift' });
    expect(same.drop.reason).toBe('identical_answers');
  });

  it('drops image pairs for engines without rejected images, and misaligned rejected images', async () => {
    const ip = pair({ rejected: 'two', rejectedMedia: [img('b.png')] });
    expect((await one(ip, { engine: 'trl' })).drop.reason).toBe('image_pair_unsupported');
    const bad = pair({ rejected: 'two', rejectedMedia: [img('a.png'), img('b.png')] });
    expect((await one(bad, { engine: 'swift' })).drop.reason).toBe('rejected_media_mismatch');
  });

  it('drops prompts that do not end with a user turn or do not alternate', async () => {
    const p1: Message[] = [...ask(), { role: 'assistant', content: 'x' }];
    expect((await one(pair({ prompt: p1 }))).drop.reason).toBe('prompt_not_user_last');
    const p2: Message[] = [{ role: 'user', content: 'a' }, ...ask()];
    expect((await one(pair({ prompt: p2 }))).drop.reason).toBe('prompt_turns_not_alternating');
    const p3: Message[] = [{ role: 'system', content: 's' }, ...ask()];
    expect((await one(pair({ prompt: p3 }))).drop).toBeUndefined();
  });
});

describe('pre-flight: truncation would cut image tokens', () => {
  // A word-level tokenizer.json built here: the Whitespace pre-tokenizer splits "How many circles ?" into 4 tokens.
  const words = ['[UNK]', 'How', 'many', 'circles', '?', 'two', 'three'];
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries(words.map((w, i) => [w, i])), unk_token: '[UNK]' },
  };
  async function check(maxLength: number, model = 'x', imageTokens?: number): Promise<LengthCheck> {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const tok = new Tokenizer(tokenizerJson, {});
    return {
      maxLength,
      imageRule: () => imageTokenRule(model, imageTokens),
      countTokens: (t) => (t ? tok.encode(t, { add_special_tokens: false }).ids.length : 0),
    };
  }

  it('counts prompt text + image tokens + the longest answer, exactly at the boundary', async () => {
    // 4 prompt tokens + 10 image tokens + max(1, 2) answer tokens = 16.
    expect((await one(pair(), { length: await check(16, 'x', 10) })).drop).toBeUndefined();
    const over = (await one(pair(), { length: await check(15, 'x', 10) })).drop;
    expect(over.reason).toBe('too_long');
    expect(over.detail).toContain('4 prompt + 10 image + 2 answer tokens vs --max-length 15');
    expect((await one(pair(), { length: await check(14, 'x', 10) })).drop.reason).toBe('too_long');
    expect((await one(pair(), { length: await check(13, 'x', 10) })).drop.reason).toBe('prompt_too_long');
  });

  it('uses the per-image Qwen2-VL count from the real image size', async () => {
    // 64×48 → 4 tokens; 640×480 → round(480/28)=17, round(640/28)=23 → 391 tokens.
    const q = 'Qwen/Qwen2-VL-2B-Instruct';
    expect((await one(pair(), { length: await check(10, q) })).drop).toBeUndefined();
    expect((await one(pair({ media: [img('big.png')] }), { length: await check(397, q) })).drop).toBeUndefined();
    const big = await one(pair({ media: [img('big.png')] }), { length: await check(396, q) });
    expect(big.drop.detail).toContain('4 prompt + 391 image + 2 answer');
    expect((await one(pair({ media: [img('tiny.png')] }), { length: await check(100, q) })).drop.reason).toBe(
      'image_too_small',
    );
  });
});
