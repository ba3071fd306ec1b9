import { z } from 'zod';
import { type Segment, SegmentTag } from '../../../schema/index.ts';
import { LabelError, type TaskType } from './types.ts';

const Box = z.tuple([z.number().nonnegative(), z.number().nonnegative(), z.number().positive(), z.number().positive()]);
export const SegmentsInput = z.strictObject({
  segments: z
    .array(
      z.strictObject({
        start: z.number().int().nonnegative(),
        end: z.number().int().positive(),
        tag: SegmentTag,
        correction: z.string().max(5000),
        box: Box.optional(),
        media: z.number().int().nonnegative().optional(),
      }),
    )
    .max(200),
});
export interface SegmentsLabel {
  /** Sorted, non-overlapping spans of the response; `text` is what they cover. Empty = no hallucination found. */
  segments: Segment[];
  /** The response with every span replaced by its correction: y_w of the RLHF-V record. */
  corrected: string;
}

/** Apply corrections right to left so earlier offsets stay valid. */
export function applyCorrections(text: string, segments: readonly Segment[]): string {
  let out = text;
  for (const s of [...segments].sort((a, b) => b.start - a.start))
    out = out.slice(0, s.start) + s.correction + out.slice(s.end);
  return out;
}

const spanKey = (l: SegmentsLabel) => JSON.stringify(l.segments.map((s) => [s.start, s.end, s.tag, s.correction]));

/** RLHF-V fine-grained correction of one response: spans, their hallucination type, the fix and an image box. */
export const segments: TaskType<typeof SegmentsInput, SegmentsLabel> = {
  description: 'select hallucinated spans of a response, tag them, correct them and optionally box the image region',
  responses: { min: 1, max: 1 },
  input: SegmentsInput,
  toCanonical(input, _order, task) {
    const text = task.responses[0].text;
    const sorted = [...input.segments].sort((a, b) => a.start - b.start);
    const out: Segment[] = sorted.map((s, i) => {
      if (s.end <= s.start || s.end > text.length)
        throw new LabelError(
          `segments.${i}`,
          `span [${s.start}, ${s.end}) is outside the response (length ${text.length})`,
        );
      if (i > 0 && s.start < sorted[i - 1].end)
        throw new LabelError(`segments.${i}`, `span [${s.start}, ${s.end}) overlaps the previous span`);
      if (s.box && (s.media ?? 0) >= task.media.length)
        throw new LabelError(
          `segments.${i}.media`,
          `box points at image #${s.media ?? 0} but the task has ${task.media.length}`,
        );
      return {
        start: s.start,
        end: s.end,
        text: text.slice(s.start, s.end),
        correction: s.correction,
        tag: s.tag,
        ...(s.box ? { box: s.box, media: s.media ?? 0 } : {}),
      };
    });
    return { segments: out, corrected: applyCorrections(text, out) };
  },
  toDisplay: (label) => ({ segments: label.segments }),
  units: (label) => [{ key: 'hasError', value: label.segments.length > 0 ? 'yes' : 'no', metric: 'nominal' }],
  majority(labels) {
    // Free-text corrections cannot be averaged: merge only when every annotator marked the same spans the same way.
    if (labels.length === 0) return undefined;
    const k = spanKey(labels[0]);
    return labels.every((l) => spanKey(l) === k) ? labels[0] : undefined;
  },
  toRecords(task, label, base) {
    const rejected = task.responses[0];
    if (label.segments.length === 0)
      return [{ kind: 'binary', ...base('ok', { verdict: 'no_hallucination' }), response: rejected, label: true }];
    return [
      {
        kind: 'segments',
        ...base('segments'),
        rejected,
        chosen: { text: label.corrected },
        segments: label.segments,
      },
    ];
  },
  fromPreference: (p) =>
    p.kind === 'segments'
      ? { responses: [p.rejected], label: { segments: p.segments, corrected: p.chosen.text } }
      : undefined,
};
