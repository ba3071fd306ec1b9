import { z } from 'zod';
import { zodIssues } from '../schema/index.ts';
import { RecordValidationError } from '../util/errors.ts';
import { CATEGORIES, type Category } from './vocab.ts';

/** The two splits: `train` follows the priors, `test` is held out with different statistics (see priors). */
export const SPLITS = ['train', 'test'] as const;
export type Split = (typeof SPLITS)[number];

const prob = z.number().min(0).max(1);
const perSplit = (train: number, test: number) =>
  z.strictObject({ train: prob.default(train), test: prob.default(test) }).prefault({});

/**
 * A co-occurrence prior: when `trigger` is drawn, `partner` is drawn too with probability `train` / `test`.
 * `train: 1` makes the trigger never appear without its partner in training (the hardest prior to unlearn).
 */
export const PriorPair = z.strictObject({
  trigger: z.enum(CATEGORIES as [Category, ...Category[]]),
  partner: z.enum(CATEGORIES as [Category, ...Category[]]),
  train: prob,
  test: prob,
});
export type PriorPair = z.infer<typeof PriorPair>;

export const DEFAULT_PRIORS: PriorPair[] = [
  { trigger: 'moon', partner: 'star', train: 1, test: 0.15 },
  { trigger: 'hexagon', partner: 'triangle', train: 1, test: 0.15 },
  { trigger: 'heart', partner: 'ring', train: 0.8, test: 0.15 },
  { trigger: 'arrow', partner: 'cross', train: 0.8, test: 0.15 },
];

/**
 * Every knob of the world, with defaults. The defaults make a hard world (2–5 objects of three sizes, tiny / dim /
 * occluded objects, pixel noise, clutter) with strict priors in train, partners often drawn weakly when they
 * co-occur, some caption noise, and a test split where triggers mostly come alone. The embedded 300k-parameter VLM
 * never learns to see in it (recall ~0.08); recipes/shapes-hallucination.yaml sets the knobs it does learn on (1–3
 * large clear objects, the hallucinations coming from caption noise and weakly drawn partners).
 */
export const WorldConfig = z
  .strictObject({
    /** Image side in pixels (square RGB). */
    imageSize: z.number().int().min(32).max(64).default(48),
    /** Objects sit in the cells of a grid × grid layout, one per cell, with a little jitter. */
    grid: z.number().int().min(2).max(4).default(3),
    objects: z
      .strictObject({ min: z.number().int().min(1).default(2), max: z.number().int().min(1).default(5) })
      .prefault({}),
    /** Relative frequency of each size. */
    sizes: z
      .strictObject({
        small: z.number().min(0).default(1),
        medium: z.number().min(0).default(1),
        large: z.number().min(0).default(1),
      })
      .prefault({}),
    priors: z
      .strictObject({
        pairs: z.array(PriorPair).default(DEFAULT_PRIORS),
        /** Sampling weight of trigger categories relative to 1 for the others; test shows triggers more often. */
        triggerWeight: z
          .strictObject({ train: z.number().min(0).default(1.5), test: z.number().min(0).default(3) })
          .prefault({}),
        /** P(a partner drawn because of its trigger is drawn with weak evidence: tiny, dim or occluded). */
        partnerWeak: perSplit(0.5, 0.5),
      })
      .prefault({}),
    /**
     * Caption noise, the real-world mechanism: P(a caption names the undrawn partner | its trigger is drawn and the
     * partner is not). The undrawn partner is named right after its trigger. Test captions are clean by default.
     */
    captionNoise: perSplit(0.5, 0),
    /** Weak visual evidence, each drawn per object independently. */
    evidence: z
      .strictObject({
        tiny: perSplit(0.06, 0.06),
        lowContrast: perSplit(0.08, 0.08),
        occlusion: perSplit(0.08, 0.08),
        /** Tiny objects are small ones drawn at this fraction of the small radius (their size word stays "small"). */
        tinyScale: z.number().gt(0).max(1).default(0.6),
        /** A low-contrast object keeps this fraction of its color's distance from the background. */
        contrast: z.number().gt(0).max(1).default(0.35),
        /** An occluder (a gray block) covers this fraction range of the object's box width or height. */
        occludeMin: prob.default(0.35),
        occludeMax: prob.default(0.55),
      })
      .prefault({}),
    background: z
      .strictObject({
        /** Per-pixel uniform noise amplitude (±, in 0–255 units) over the whole image, objects included. */
        noise: z.number().int().min(0).max(64).default(10),
        /** Mean number of gray clutter marks (lines, specks) per image. */
        clutter: z.number().min(0).max(20).default(2),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.objects.min > c.objects.max)
      ctx.addIssue({
        code: 'custom',
        path: ['objects', 'min'],
        message: `min ${c.objects.min} > max ${c.objects.max}`,
      });
    if (c.objects.max > c.grid * c.grid)
      ctx.addIssue({
        code: 'custom',
        path: ['objects', 'max'],
        message: `max ${c.objects.max} objects do not fit a ${c.grid}×${c.grid} grid`,
      });
    if (c.evidence.occludeMin > c.evidence.occludeMax)
      ctx.addIssue({ code: 'custom', path: ['evidence', 'occludeMin'], message: 'occludeMin > occludeMax' });
    if (c.sizes.small + c.sizes.medium + c.sizes.large <= 0)
      ctx.addIssue({ code: 'custom', path: ['sizes'], message: 'at least one size needs a positive weight' });
    const triggers = new Set<string>();
    const partners = new Set<string>();
    c.priors.pairs.forEach((p, i) => {
      if (p.trigger === p.partner)
        ctx.addIssue({
          code: 'custom',
          path: ['priors', 'pairs', i],
          message: `${p.trigger} cannot be its own partner`,
        });
      if (triggers.has(p.trigger))
        ctx.addIssue({
          code: 'custom',
          path: ['priors', 'pairs', i, 'trigger'],
          message: `${p.trigger} is a trigger twice`,
        });
      triggers.add(p.trigger);
      partners.add(p.partner);
    });
    for (const t of triggers)
      if (partners.has(t))
        ctx.addIssue({ code: 'custom', path: ['priors', 'pairs'], message: `${t} is both a trigger and a partner` });
  });
export type WorldConfig = z.output<typeof WorldConfig>;
export type WorldConfigInput = z.input<typeof WorldConfig>;

/** Parse a (partial) config, filling defaults; errors name the file and the dotted field. */
export function parseWorldConfig(value: unknown = {}, file?: string): WorldConfig {
  const r = WorldConfig.safeParse(value ?? {});
  if (!r.success)
    throw new RecordValidationError(
      zodIssues(r.error, { file }, WorldConfig),
      'the world config takes any subset of the keys listed; see `mmalign world --help`',
    );
  return r.data;
}

export const DEFAULT_WORLD_CONFIG: WorldConfig = parseWorldConfig({});
