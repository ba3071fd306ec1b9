import { z } from 'zod';

/**
 * Visual (and other) input I. Media files live in a content-addressed store and records refer to them by a path
 * relative to the dataset root plus their sha256, so a set can be moved or shared. Video may be a file or a list of
 * frames (each itself an image ref), so trainers that only take frames can use it.
 */
export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');

export const ImageRef = z.strictObject({
  kind: z.literal('image'),
  path: z.string().min(1),
  sha256: Sha256.optional(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
});
export type ImageRef = z.infer<typeof ImageRef>;

export const VideoRef = z.strictObject({
  kind: z.literal('video'),
  path: z.string().min(1).optional(),
  sha256: Sha256.optional(),
  frames: z.array(ImageRef).optional(),
  fps: z.number().positive().optional(),
});
export type VideoRef = z.infer<typeof VideoRef>;

export const AudioRef = z.strictObject({
  kind: z.literal('audio'),
  path: z.string().min(1),
  sha256: Sha256.optional(),
  sampleRate: z.number().int().positive().optional(),
  seconds: z.number().nonnegative().optional(),
});
export type AudioRef = z.infer<typeof AudioRef>;

export const MediaRef = z.discriminatedUnion('kind', [ImageRef, VideoRef, AudioRef]);
export type MediaRef = z.infer<typeof MediaRef>;

/** A part of a chat message; media parts point into the record's `media` array by index (placeholder order). */
export const ContentPart = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: z.string() }),
  z.strictObject({ type: z.literal('image'), media: z.number().int().nonnegative() }),
  z.strictObject({ type: z.literal('video'), media: z.number().int().nonnegative() }),
  z.strictObject({ type: z.literal('audio'), media: z.number().int().nonnegative() }),
]);
export type ContentPart = z.infer<typeof ContentPart>;

export const Role = z.enum(['system', 'user', 'assistant']);
export type Role = z.infer<typeof Role>;

export const Message = z.strictObject({
  role: Role,
  content: z.union([z.string(), z.array(ContentPart)]),
});
export type Message = z.infer<typeof Message>;

/** Who judged a preference: the survey's annotation sources (humans, closed / open models, the policy itself, rules). */
export const AnnotatorKind = z.enum(['human', 'closed_model', 'open_model', 'self', 'rule', 'reward_model']);
export type AnnotatorKind = z.infer<typeof AnnotatorKind>;

export const Annotator = z.strictObject({
  kind: AnnotatorKind,
  id: z.string().min(1),
  version: z.string().optional(),
});
export type Annotator = z.infer<typeof Annotator>;

/**
 * Where a record came from: the survey's three factors (data source, response model(s), annotation) plus when and
 * by which run. `strategy` names how a negative was made (e.g. `inject:cooccur`, `corrupt:blur`).
 */
export const Provenance = z.strictObject({
  source: z.string().min(1),
  responseModels: z.array(z.string()).optional(),
  policy: z.enum(['on', 'off', 'mixed']).optional(),
  annotator: Annotator.optional(),
  strategy: z.string().optional(),
  createdAt: z.string().min(1),
  run: z.string().optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type Provenance = z.infer<typeof Provenance>;

export const GenerationParams = z.strictObject({
  temperature: z.number().nonnegative().optional(),
  topP: z.number().gt(0).lte(1).optional(),
  maxTokens: z.number().int().positive().optional(),
  seed: z.number().int().optional(),
  n: z.number().int().positive().optional(),
  stop: z.array(z.string()).optional(),
});
export type GenerationParams = z.infer<typeof GenerationParams>;

export const TokenLogprob = z.strictObject({ token: z.string(), logprob: z.number() });
export type TokenLogprob = z.infer<typeof TokenLogprob>;
