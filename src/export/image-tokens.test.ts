import { describe, expect, it } from 'vitest';
import { imageTokenRule, imageTokens, pyRound, qwenSmartResize } from './image-tokens.ts';

// Expected values worked by hand from transformers' Qwen2VLImageProcessor.smart_resize (factor 28,
// min_pixels 3136, max_pixels 12845056; Python round() = round-half-to-even).
const Q = { factor: 28, min: 3136, max: 12845056 };
const resize = (h: number, w: number) => qwenSmartResize(h, w, Q.factor, Q.min, Q.max);

describe('image tokens', () => {
  it('rounds halves to even like Python', () => {
    expect([0.5, 1.5, 2.5, 3.5, -1.5, 2.4, 2.6].map(pyRound)).toEqual([0, 2, 2, 4, -2, 2, 3]);
  });

  it('Qwen2-VL smart_resize: rounding, min_pixels, max_pixels', () => {
    // 48/28 = 1.71 → 2, 64/28 = 2.29 → 2: 56×56 = 3136 = min_pixels, 4 tokens.
    expect(resize(48, 64)).toEqual({ height: 56, width: 56 });
    // 70/28 = 2.5 rounds to 2 (even), not 3: 56×56 (JS Math.round would give 84×84 = 9 tokens).
    expect(resize(70, 70)).toEqual({ height: 56, width: 56 });
    // 800/28 = 28.57 → 29, 1000/28 = 35.71 → 36: 812×1008.
    expect(resize(800, 1000)).toEqual({ height: 812, width: 1008 });
    // 28×28 = 784 < 3136: β = sqrt(3136/784) = 2, ceil(28·2/28)·28 = 56 each side.
    expect(resize(28, 28)).toEqual({ height: 56, width: 56 });
    // 5000×3000 → 4984×3000 rounded = 14952000 > max: β = sqrt(15e6/12845056) = 1.08064…,
    // h = floor(5000/β/28)·28 = floor(165.24)·28 = 4620, w = floor(3000/β/28)·28 = floor(99.14)·28 = 2772.
    expect(resize(5000, 3000)).toEqual({ height: 4620, width: 2772 });
    expect(resize(20, 40)).toBeUndefined();
    expect(resize(28, 28 * 201)).toBeUndefined();
  });

  it('counts tokens per model family', () => {
    const qwen = imageTokenRule('Qwen/Qwen2-VL-7B-Instruct');
    expect(imageTokens(qwen, { width: 64, height: 48 })).toBe(4);
    expect(imageTokens(qwen, { width: 1000, height: 800 })).toBe(29 * 36);
    expect(imageTokens(qwen, { width: 3000, height: 5000 })).toBe(165 * 99);
    expect(imageTokens(qwen, { width: 10, height: 10 })).toBeUndefined();
    expect(imageTokens(imageTokenRule('Qwen/Qwen2.5-VL-3B-Instruct'), { width: 70, height: 70 })).toBe(4);
    expect(imageTokens(imageTokenRule('llava-hf/llava-1.5-7b-hf'))).toBe(576);
    expect(imageTokens(imageTokenRule('google/paligemma-3b-pt-448'))).toBe(1024);
    expect(imageTokens(imageTokenRule('anything', 81))).toBe(81);
  });

  it('refuses to guess for an unknown model', () => {
    expect(() => imageTokenRule('acme/secret-vlm')).toThrow(/pass --image-tokens N/);
    expect(() => imageTokenRule('acme/secret-vlm', -1)).toThrow(/non-negative integer/);
  });
});
