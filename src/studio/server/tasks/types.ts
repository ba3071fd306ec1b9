import type { z } from 'zod';
import type { Answer, MediaRef, Message, Preference, Provenance } from '../../../schema/index.ts';
import type { Settings } from '../settings.ts';

/** A media file as the studio keeps it: the record's original ref plus its key(s) in the project's media store. */
export interface StoredMedia {
  ref: MediaRef;
  /** `ab/abcdef….png` for an image, audio or video file. */
  key?: string;
  /** One key per frame for a video given as frames. */
  frames?: string[];
}

/** What an annotator is shown: the prompt x, the visual input I and the responses, in canonical order. */
export interface TaskData {
  extId: string;
  sampleId: string;
  source: string;
  prompt: Message[];
  media: StoredMedia[];
  responses: Answer[];
}

/** One unit of agreement: `key` names the question within a task, `value` the answer given. */
export interface Unit {
  key: string;
  value: string | number;
  metric: 'nominal' | 'interval';
}

/** A 400-level problem with a submitted label that the schema alone cannot see (span outside the text, ...). */
export class LabelError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/** The record fields every exported preference shares; the task type adds its `kind` and payload. */
export type RecordBase = Pick<Preference, 'id' | 'sampleId' | 'prompt' | 'media' | 'provenance'>;
export type MakeBase = (idSuffix: string, extra?: Record<string, unknown>) => RecordBase;

/**
 * A task type: how a label is submitted (display positions), stored (canonical response order), compared for
 * agreement, merged by majority vote and turned into Preference records. `order[d]` is the canonical index of the
 * response shown at display position d, randomised per annotator.
 */
export interface TaskType<I extends z.ZodType, C> {
  description: string;
  responses: { min: number; max: number };
  input: I;
  toCanonical(input: z.infer<I>, order: number[], task: TaskData, settings: Settings): C;
  /** Map a canonical label back to display positions (drafts, undo, AI suggestions). */
  toDisplay(label: C, order: number[]): unknown;
  units(label: C): Unit[];
  /** The majority label, or undefined when the vote is tied / labels cannot be merged (→ adjudication). */
  majority(labels: C[]): C | undefined;
  toRecords(task: TaskData, label: C, base: MakeBase, settings: Settings): Preference[];
  /** A pipeline preference as a task of this type plus the judge's label, if the kind fits. */
  fromPreference(p: Preference): { responses: Answer[]; label: C } | undefined;
}

/** The most frequent value, or undefined on a tie for first place. */
export function mode<T>(values: T[], key: (v: T) => string): T | undefined {
  const counts = new Map<string, { n: number; v: T }>();
  for (const v of values) {
    const k = key(v);
    const e = counts.get(k);
    if (e) e.n++;
    else counts.set(k, { n: 1, v });
  }
  const sorted = [...counts.values()].sort((a, b) => b.n - a.n);
  if (sorted.length === 0 || (sorted.length > 1 && sorted[1].n === sorted[0].n)) return undefined;
  return sorted[0].v;
}

/** Inverse permutation: display position of each canonical index. */
export function displayOf(order: number[]): number[] {
  const inv = new Array<number>(order.length);
  order.forEach((c, d) => {
    inv[c] = d;
  });
  return inv;
}

export type { Answer, Provenance };
