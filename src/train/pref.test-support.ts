import { createVlm, type Vlm, WordTokenizer } from '../nn/index.ts';
import type { PrefExample } from './pref-data.ts';

/**
 * A toy preference task for trainer tests: a 16 px image of one solid colour, "what color is it ?", chosen = the
 * right colour, rejected = another. A random tiny model cannot tell them apart (accuracy ≈ ½); a trainer that
 * works pushes held-out accuracy up within tens of steps.
 */
export const COLORS: Record<string, [number, number, number]> = {
  red: [220, 30, 30],
  blue: [30, 30, 220],
  green: [30, 200, 30],
  yellow: [230, 220, 40],
};
const NAMES = Object.keys(COLORS);
export const SIZE = 16;

export function solid(rgb: readonly number[], jitter = 0): Uint8Array {
  const out = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < out.length; i++)
    out[i] = Math.max(0, Math.min(255, rgb[i % 3]! + ((i * 7919) % 11) - 5 + jitter));
  return out;
}

export function colorExamples(n: number, kind: PrefExample['kind'] = 'pair'): PrefExample[] {
  return Array.from({ length: n }, (_, i) => {
    const c = NAMES[i % NAMES.length]!;
    const wrong = NAMES[(i + 1 + (Math.floor(i / NAMES.length) % (NAMES.length - 1))) % NAMES.length]!;
    const chosen = `it is ${c} .`;
    const rejected = `it is ${wrong} .`;
    const base = { id: `ex${i}`, prompt: 'what color is it ?', image: solid(COLORS[c]!, i % 5), imageNeg: null };
    if (kind === 'binary')
      return { ...base, kind, chosen: i % 2 ? chosen : null, rejected: i % 2 ? null : rejected } as PrefExample;
    if (kind === 'segments')
      return {
        ...base,
        kind,
        chosen,
        rejected,
        chosenSpans: [[6, 6 + c.length]],
        rejectedSpans: [[6, 6 + wrong.length]],
      };
    if (kind === 'image_pair') return { ...base, kind, chosen, rejected: null };
    return { ...base, kind, chosen, rejected, chosenReward: 1, rejectedReward: 0, margin: 1 };
  });
}

export function tinyModel(seed = 3): Vlm {
  const tok = WordTokenizer.fromTexts(['what color is it ?', ...NAMES.map((c) => `it is ${c} .`)]);
  return createVlm(
    {
      imageSize: SIZE,
      patchSize: 8,
      mergeSize: 1,
      dModel: 16,
      nHeads: 2,
      encLayers: 1,
      decLayers: 1,
      mlpRatio: 2,
      maxTextLen: 16,
    },
    tok,
    seed,
  );
}
