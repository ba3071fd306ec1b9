import { MmalignError } from '../util/errors.ts';

/**
 * How many sequence positions one image takes in a model's input, so pre-flight can tell whether truncation to
 * --max-length would cut into image tokens (the "image features and image tokens do not match" crash). A
 * per-model parameter: fixed-grid encoders take a constant, Qwen2-VL-style encoders depend on the image size.
 * `--image-tokens N` overrides the table for any model.
 */

export type ImageTokenRule =
  | { kind: 'fixed'; tokens: number; source: string }
  | {
      kind: 'qwen2vl';
      /** patch_size · merge_size: each side is rounded to a multiple of it. */
      factor: number;
      minPixels: number;
      maxPixels: number;
      source: string;
    };

export const IMAGE_TOKEN_RULES = {
  'llava-1.5': {
    match: /llava-(v)?1\.5/i,
    rule: { kind: 'fixed', tokens: 576, source: 'CLIP ViT-L/14 at 336 px: (336/14)² = 576 patch tokens' },
  },
  'paligemma-224': {
    match: /paligemma.*-224/i,
    rule: { kind: 'fixed', tokens: 256, source: 'SigLIP so400m/14 at 224 px: (224/14)² = 256' },
  },
  'paligemma-448': {
    match: /paligemma.*-448/i,
    rule: { kind: 'fixed', tokens: 1024, source: 'SigLIP so400m/14 at 448 px: (448/14)² = 1024' },
  },
  'paligemma-896': {
    match: /paligemma.*-896/i,
    rule: { kind: 'fixed', tokens: 4096, source: 'SigLIP so400m/14 at 896 px: (896/14)² = 4096' },
  },
  'qwen2-vl': {
    match: /qwen2(\.5)?-vl/i,
    rule: {
      kind: 'qwen2vl',
      factor: 28,
      minPixels: 3136,
      maxPixels: 12845056,
      source:
        'transformers Qwen2VLImageProcessor.smart_resize with the released preprocessor_config.json ' +
        '(patch 14, merge 2, min_pixels 3136, max_pixels 12845056); tokens = h·w / 28²',
    },
  },
} as const satisfies Record<string, { match: RegExp; rule: ImageTokenRule }>;

/** Python's round(): halves go to the even neighbour (banker's rounding), as smart_resize uses it. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Qwen2-VL's resize: both sides to multiples of `factor`, pixel count within [min, max], aspect kept. Returns
 * undefined where the processor raises (a side shorter than `factor`, or aspect ratio above 200).
 */
export function qwenSmartResize(
  height: number,
  width: number,
  factor: number,
  minPixels: number,
  maxPixels: number,
): { height: number; width: number } | undefined {
  if (height < factor || width < factor) return undefined;
  if (Math.max(height, width) / Math.min(height, width) > 200) return undefined;
  let h = pyRound(height / factor) * factor;
  let w = pyRound(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.floor(height / beta / factor) * factor;
    w = Math.floor(width / beta / factor) * factor;
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

/** Tokens for one image under a rule; undefined when the model's processor would refuse the image. */
export function imageTokens(rule: ImageTokenRule, size?: { width: number; height: number }): number | undefined {
  if (rule.kind === 'fixed') return rule.tokens;
  if (!size) return undefined;
  const r = qwenSmartResize(size.height, size.width, rule.factor, rule.minPixels, rule.maxPixels);
  return r ? (r.height * r.width) / (rule.factor * rule.factor) : undefined;
}

/** The rule for a model id, or the fixed override; throws when neither is known (the count must not be guessed). */
export function imageTokenRule(modelId: string, override?: number): ImageTokenRule {
  if (override !== undefined) {
    if (!Number.isInteger(override) || override < 0)
      throw new MmalignError('MMALIGN_EXPORT_OPTION', `--image-tokens must be a non-negative integer, got ${override}`);
    return { kind: 'fixed', tokens: override, source: '--image-tokens' };
  }
  for (const entry of Object.values(IMAGE_TOKEN_RULES)) if (entry.match.test(modelId)) return entry.rule;
  throw new MmalignError('MMALIGN_EXPORT_IMAGE_TOKENS', `no image-token count is known for model "${modelId}"`, {
    hint: `pass --image-tokens N (tokens one image takes in ${modelId}'s input); known families: ${Object.keys(IMAGE_TOKEN_RULES).join(', ')}`,
  });
}
