import type { TaskView } from '../api.ts';
import type { MediaPanel } from '../media.ts';

/** One task type's editing UI: its element, its keyboard map, and the label it would submit. */
export interface Editor {
  el: HTMLElement;
  /** `KeyboardEvent.key` → action, active while focus is not in a text field. */
  keys: Record<string, { help: string; run: () => void }>;
  /** The label in display positions, or a message saying what is still missing. */
  label(): { ok: true; label: unknown } | { ok: false; missing: string };
  /** What autosave stores (may be incomplete). */
  draft(): unknown;
}

export interface EditorCtx {
  view: TaskView;
  /** Draft or submitted label to start from (display positions). */
  initial: unknown;
  media: MediaPanel;
  readonly: boolean;
  changed(): void;
}

export const letter = (i: number) => String.fromCharCode(65 + i);

export function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}
