import { api, type TaskView } from './api.ts';
import { h } from './dom.ts';
import { mediaPanel } from './media.ts';
import { binaryEditor } from './tasks/binary.ts';
import type { Editor, EditorCtx } from './tasks/editor.ts';
import { pairwiseEditor } from './tasks/pairwise.ts';
import { rankingEditor } from './tasks/ranking.ts';
import { ratingEditor } from './tasks/rating.ts';
import { segmentsEditor } from './tasks/segments.ts';

const EDITORS: Record<TaskView['type'], (ctx: EditorCtx) => Editor> = {
  pairwise: pairwiseEditor,
  rating: ratingEditor,
  ranking: rankingEditor,
  segments: segmentsEditor,
  binary: binaryEditor,
};

const TITLES: Record<TaskView['type'], string> = {
  pairwise: 'Which response is better?',
  rating: 'Rate each response',
  ranking: 'Rank the responses',
  segments: 'Correct the hallucinated spans',
  binary: 'Is this response good?',
};

export interface TaskPage {
  el: HTMLElement;
  keys: Editor['keys'];
  submit(): Promise<void>;
}

function promptView(view: TaskView): HTMLElement {
  return h(
    'div',
    { class: 'prompt' },
    ...view.prompt.map((m) =>
      h(
        'div',
        { class: `msg ${m.role}` },
        h('span', { class: 'role' }, m.role),
        ...(typeof m.content === 'string'
          ? [h('span', { class: 'msg-text' }, m.content)]
          : m.content.map((p) =>
              p.type === 'text'
                ? h('span', { class: 'msg-text' }, p.text)
                : h('span', { class: 'chip' }, `[${p.type} ${p.media + 1}]`),
            )),
      ),
    ),
  );
}

/** A label in words, for AI-judge suggestions (display positions, as the annotator sees the responses). */
function describe(label: unknown): string {
  const l = (typeof label === 'object' && label !== null ? label : {}) as Record<string, unknown>;
  if (typeof l.choice === 'string')
    return l.choice === 'A' || l.choice === 'B' ? `prefers ${l.choice}` : String(l.choice);
  if (Array.isArray(l.ranks)) return `ranks ${l.ranks.map((r, i) => `${String.fromCharCode(65 + i)}=${r}`).join(', ')}`;
  if (typeof l.label === 'boolean') return l.label ? 'good' : 'bad';
  if (Array.isArray(l.segments))
    return l.segments.length === 0
      ? 'no hallucination'
      : l.segments.map((x: { text?: string; correction?: string }) => `“${x.text}” → “${x.correction}”`).join('; ');
  return JSON.stringify(label);
}

function suggestionView(view: TaskView): HTMLElement | null {
  if (view.suggestions.length === 0) return null;
  return h(
    'details',
    { class: 'suggestions' },
    h('summary', {}, `AI-judge suggestions (${view.suggestions.length})`),
    ...view.suggestions.map((s) => h('div', { class: 'suggestion' }, h('b', {}, s.judge), ' ', describe(s.label))),
  );
}

/** A task page: prompt, media beside the responses, the type's editor, autosave and a transactional submit. */
export function taskPage(
  view: TaskView,
  onSubmitted: (next: boolean) => void,
  toast: (msg: string, bad?: boolean) => void,
): TaskPage {
  const readonly = view.submitted !== null || view.status === 'admin';
  const media = mediaPanel(view.media);
  const saveState = h('span', { class: 'save-state' }, readonly ? 'submitted' : view.draft ? 'draft restored' : '');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let submitting = false;
  const ctx: EditorCtx = {
    view,
    initial: view.submitted?.label ?? view.draft,
    media,
    readonly,
    changed() {
      saveState.textContent = 'editing…';
      clearTimeout(timer);
      // Autosave: a draft a short pause after the last change, so a crash or reload loses at most that pause.
      timer = setTimeout(() => {
        api('PUT', `/api/tasks/${view.id}/draft`, { draft: editor.draft() })
          .then(() => {
            saveState.textContent = 'draft saved';
          })
          .catch((e: Error) => {
            saveState.textContent = `draft not saved: ${e.message}`;
          });
      }, 400);
    },
  };
  const editor = EDITORS[view.type](ctx);
  const submitBtn = h(
    'button',
    { class: 'submit primary', attrs: { disabled: readonly }, on: { click: () => void submit() } },
    'Submit',
    h('kbd', {}, 'Ctrl+Enter'),
  );
  async function submit(): Promise<void> {
    if (readonly || submitting) return;
    const l = editor.label();
    if (!l.ok) {
      toast(`Not yet: ${l.missing}`, true);
      return;
    }
    submitting = true;
    clearTimeout(timer);
    // One id per submit: retries after a network error or a server restart are recognised, never doubled.
    const submissionId = crypto.randomUUID();
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await api('POST', `/api/tasks/${view.id}/submit`, { submissionId, label: l.label });
        saveState.textContent = 'saved';
        toast('Saved');
        submitting = false;
        onSubmitted(true);
        return;
      } catch (e) {
        const err = e as Error & { status?: number };
        if (err.status !== undefined && err.status < 500) {
          toast(err.message, true);
          break;
        }
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
    submitting = false;
  }
  const el = h(
    'section',
    { class: `task type-${view.type}`, attrs: { 'data-task': view.id } },
    h('h2', {}, `${TITLES[view.type]} `, h('small', {}, `task ${view.id}`)),
    promptView(view),
    suggestionView(view),
    h('div', { class: 'workspace' }, media.el, h('div', { class: 'editor' }, editor.el)),
    h('div', { class: 'actions' }, submitBtn, saveState),
  );
  const keys: Editor['keys'] = {
    ...editor.keys,
    '+': { help: 'zoom in', run: () => media.zoom(0.5) },
    '=': { help: 'zoom in', run: () => media.zoom(0.5) },
    '-': { help: 'zoom out', run: () => media.zoom(-0.5) },
    '.': { help: 'next video frame', run: () => media.frame(1) },
    ',': { help: 'previous video frame', run: () => media.frame(-1) },
  };
  return { el, keys, submit };
}
