import { z } from 'zod';
import { mode, type TaskType } from './types.ts';

export const BinaryInput = z.strictObject({ label: z.boolean() });
export interface BinaryLabel {
  label: boolean;
}

/** KTO-style desirable / undesirable label on one response. */
export const binary: TaskType<typeof BinaryInput, BinaryLabel> = {
  description: 'good / bad on one response (KTO)',
  responses: { min: 1, max: 1 },
  input: BinaryInput,
  toCanonical: (input) => ({ label: input.label }),
  toDisplay: (label) => ({ label: label.label }),
  units: (label) => [{ key: 'label', value: label.label ? 'good' : 'bad', metric: 'nominal' }],
  majority: (labels) => mode(labels, (l) => String(l.label)),
  toRecords: (task, label, base) => [
    { kind: 'binary', ...base('binary'), response: task.responses[0], label: label.label },
  ],
  fromPreference: (p) => (p.kind === 'binary' ? { responses: [p.response], label: { label: p.label } } : undefined),
};
