import { z } from 'zod';
import { Annotator, GenerationParams, MediaRef, Message, Provenance, TokenLogprob } from './common.ts';

/**
 * The survey's record D = (x, I, y_w, y_l, r_w, r_l) and what the field stores around it.
 * Every record is self-contained (prompt and media travel with it) so one JSONL line is one training row.
 */

/** One object of a scene's exact ground truth (ShapeWorld, or detection-style annotations of real images). */
export const TruthObject = z.strictObject({
  name: z.string(),
  attributes: z.record(z.string(), z.string()).optional(),
  /** [x, y, w, h] in pixels of the image it belongs to. */
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional(),
  media: z.number().int().nonnegative().optional(),
});
export type TruthObject = z.infer<typeof TruthObject>;

/** Structured ground truth: what rule judges and verifiers check answers against. Unknown keys are kept. */
export const GroundTruth = z.looseObject({
  objects: z.array(TruthObject).optional(),
  answer: z.union([z.string(), z.number(), z.boolean()]).optional(),
  choices: z.array(z.string()).optional(),
  shouldRefuse: z.boolean().optional(),
});
export type GroundTruth = z.infer<typeof GroundTruth>;

export const Sample = z.strictObject({
  id: z.string().min(1),
  messages: z.array(Message).min(1),
  media: z.array(MediaRef).default([]),
  reference: z.string().optional(),
  truth: GroundTruth.optional(),
  task: z.string().optional(),
  split: z.string().optional(),
  tags: z.array(z.string()).optional(),
  provenance: Provenance,
});
export type Sample = z.infer<typeof Sample>;
export type SampleInput = z.input<typeof Sample>;

/** Which visual input a response was conditioned on: as given, corrupted (I_neg), or none at all. */
export const VisualCondition = z.enum(['clean', 'corrupted', 'none']);
export type VisualCondition = z.infer<typeof VisualCondition>;

export const Response = z.strictObject({
  id: z.string().min(1),
  sampleId: z.string().min(1),
  text: z.string(),
  model: z.string().min(1),
  params: GenerationParams.optional(),
  logprobs: z.array(TokenLogprob).optional(),
  visual: VisualCondition.optional(),
  finishReason: z.enum(['stop', 'length', 'error']).optional(),
  provenance: Provenance,
});
export type Response = z.infer<typeof Response>;

/** An answer inside a preference: its text plus where it came from. */
export const Answer = z.strictObject({
  text: z.string(),
  responseId: z.string().optional(),
  model: z.string().optional(),
  /** Reference log π_ref(y|I,x) if precomputed (RLAIF-V `logps`, MM-RLHF `reference_*_logp`). */
  refLogp: z.number().optional(),
});
export type Answer = z.infer<typeof Answer>;

/** Annotation is required on preferences: who decided y_w ≻ y_l. */
const PreferenceProvenance = Provenance.extend({ annotator: Annotator });

const base = {
  id: z.string().min(1),
  sampleId: z.string().min(1),
  prompt: z.array(Message).min(1),
  media: z.array(MediaRef).default([]),
  provenance: PreferenceProvenance,
};

export const SegmentTag = z.enum(['object', 'attribute', 'count', 'position', 'action', 'other']);
export type SegmentTag = z.infer<typeof SegmentTag>;

/** RLHF-V correction: chars [start, end) of the rejected text, replaced by `correction` in the chosen text. */
export const Segment = z.strictObject({
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  text: z.string(),
  correction: z.string(),
  tag: SegmentTag.optional(),
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional(),
  media: z.number().int().nonnegative().optional(),
});
export type Segment = z.infer<typeof Segment>;

export const AspectScore = z.strictObject({ score: z.number(), rationale: z.string().optional() });

export const Preference = z.discriminatedUnion('kind', [
  /** y_w ≻ y_l for the same (x, I); optional rewards r_w, r_l and margin. `rejectedMedia` = ms-swift rejected_images. */
  z.strictObject({
    kind: z.literal('pair'),
    ...base,
    chosen: Answer,
    rejected: Answer,
    margin: z.number().optional(),
    chosenReward: z.number().optional(),
    rejectedReward: z.number().optional(),
    rejectedMedia: z.array(MediaRef).optional(),
  }),
  /** The same response y under I (preferred) vs I_neg (dispreferred): mDPO / Image-DPO / CHiP visual pairs. */
  z.strictObject({
    kind: z.literal('image_pair'),
    ...base,
    response: Answer,
    rejectedMedia: z.array(MediaRef).min(1),
    corruption: z.string().optional(),
  }),
  /** N responses ranked; rank 1 is best, equal ranks are ties. */
  z.strictObject({
    kind: z.literal('ranking'),
    ...base,
    responses: z.array(Answer).min(2),
    ranks: z.array(z.number().int().positive()).min(2),
  }),
  /** Per-aspect scores per response (VLFeedback, MM-RLHF): helpfulness, visual faithfulness, ethics, ... */
  z.strictObject({
    kind: z.literal('rubric'),
    ...base,
    responses: z.array(Answer).min(1),
    scores: z.array(z.record(z.string(), AspectScore)).min(1),
    scale: z.tuple([z.number(), z.number()]).optional(),
  }),
  /** RLHF-V dense feedback: rejected text, its corrected version (chosen) and the corrected spans. */
  z.strictObject({
    kind: z.literal('segments'),
    ...base,
    rejected: Answer,
    chosen: Answer,
    segments: z.array(Segment).min(1),
  }),
  /** One response labelled desirable or not (KTO). */
  z.strictObject({
    kind: z.literal('binary'),
    ...base,
    response: Answer,
    label: z.boolean(),
  }),
]);
export type Preference = z.infer<typeof Preference>;
export type PreferenceKind = Preference['kind'];
export type PreferenceOf<K extends PreferenceKind> = Extract<Preference, { kind: K }>;
export const PREFERENCE_KINDS = [
  'pair',
  'image_pair',
  'ranking',
  'rubric',
  'segments',
  'binary',
] as const satisfies readonly PreferenceKind[];

/** The three record families a JSONL file of mmalign may hold, keyed by name for `mmalign validate --type`. */
export const RECORD_SCHEMAS = { sample: Sample, response: Response, preference: Preference } as const;
export type RecordType = keyof typeof RECORD_SCHEMAS;
