import { describe, expect, it } from 'vitest';
import type { GenerateResult, VisionLanguageModel } from '../models/types.ts';
import type { Sample } from '../schema/index.ts';
import { imageFreeContinuation, rewriteWithHallucination, truncateWords, withoutMedia } from './model-based.ts';

const sample: Sample = {
  id: 's',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', media: 0 },
        { type: 'text', text: 'Describe the image.' },
      ],
    },
  ],
  media: [{ kind: 'image', path: 'media/aa/x.png' }],
  provenance: { source: 't', createdAt: 'x' },
};

/** Records what it was asked; continues with a fixed text. */
function recorder(prefill: boolean, reply: string) {
  const seen: Sample[] = [];
  const model: VisionLanguageModel = {
    id: 'rec',
    capabilities: {
      generate: true,
      sampledLogprobs: false,
      promptLogprobs: false,
      images: true,
      video: false,
      audio: false,
      prefill,
    },
    async generate(samples) {
      seen.push(...samples);
      return samples.map(
        (s): GenerateResult => ({ ok: true, sampleId: s.id, generations: [{ text: reply, finishReason: 'stop' }] }),
      );
    },
    async logprobs() {
      throw new Error('unused');
    },
  };
  return { model, seen };
}

describe('model-based negatives', () => {
  it('truncateWords keeps at least one and at most all but one word', () => {
    expect(truncateWords('a b c d', 0.5)).toBe('a b');
    expect(truncateWords('a b', 1)).toBe('a');
    expect(truncateWords('a b c', 0)).toBe('a');
  });

  it('image-free continuation drops every media part and prefills the kept prefix', async () => {
    const { model, seen } = recorder(true, 'and a green moon.');
    const r = await imageFreeContinuation(model, sample, 'a red circle and a blue star.', { keepFraction: 0.4 });
    expect(r).toEqual({ prefix: 'a red circle', text: 'a red circle and a green moon.' });
    expect(seen[0].media).toEqual([]);
    expect(seen[0].messages.at(-1)).toEqual({ role: 'assistant', content: 'a red circle' });
    expect(JSON.stringify(seen[0].messages)).not.toContain('"image"');
  });

  it('refuses a backend that cannot continue an assistant message', async () => {
    const { model } = recorder(false, 'x');
    await expect(imageFreeContinuation(model, sample, 'a b c')).rejects.toThrow(/does not support prefill/);
  });

  it('rewrite returns null when the model echoes the answer unchanged', async () => {
    expect(await rewriteWithHallucination(recorder(true, 'a red circle.').model, sample, 'a red circle.')).toBeNull();
    expect(await rewriteWithHallucination(recorder(true, 'a red moon.').model, sample, 'a red circle.')).toBe(
      'a red moon.',
    );
    expect(withoutMedia(sample).messages[0].content).toEqual([{ type: 'text', text: 'Describe the image.' }]);
  });
});
