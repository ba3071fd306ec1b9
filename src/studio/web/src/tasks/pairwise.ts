import { h } from '../dom.ts';
import { type Editor, type EditorCtx, letter, obj } from './editor.ts';

const CHOICES = [
  { value: 'A', text: 'A is better', keys: ['a', '1'] },
  { value: 'B', text: 'B is better', keys: ['b', '2'] },
  { value: 'tie', text: 'Tie', keys: ['t', '3'] },
  { value: 'both_bad', text: 'Both bad', keys: ['x', '4'] },
] as const;

export function pairwiseEditor(ctx: EditorCtx): Editor {
  const init = obj(ctx.initial);
  let choice = typeof init.choice === 'string' ? init.choice : null;
  const reason = h('textarea', {
    class: 'reason',
    attrs: { placeholder: 'Reason (optional) — press r to type, Esc to leave', rows: 2, disabled: ctx.readonly },
    on: { input: () => ctx.changed() },
  });
  reason.value = typeof init.reason === 'string' ? init.reason : '';
  const cols = ctx.view.responses.map((r, i) =>
    h(
      'div',
      { class: 'response', attrs: { 'data-pos': letter(i) } },
      h('div', { class: 'response-head' }, `Response ${letter(i)}`),
      h('div', { class: 'response-text' }, r.text),
    ),
  );
  const buttons = CHOICES.map((c) =>
    h(
      'button',
      {
        class: 'choice',
        attrs: { 'data-choice': c.value, disabled: ctx.readonly },
        on: { click: () => pick(c.value) },
      },
      c.text,
      h('kbd', {}, c.keys[0]),
    ),
  );
  const paint = () => {
    for (const [i, b] of buttons.entries()) b.classList.toggle('selected', CHOICES[i].value === choice);
    for (const [i, c] of cols.entries()) c.classList.toggle('winner', choice === letter(i));
  };
  const pick = (v: string) => {
    if (ctx.readonly) return;
    choice = v;
    paint();
    ctx.changed();
  };
  paint();
  const keys: Editor['keys'] = {};
  for (const c of CHOICES) for (const k of c.keys) keys[k] = { help: c.text, run: () => pick(c.value) };
  keys.r = { help: 'type a reason', run: () => reason.focus() };
  return {
    el: h(
      'div',
      { class: 'pairwise' },
      h('div', { class: 'columns' }, ...cols),
      h('div', { class: 'choices' }, ...buttons),
      reason,
    ),
    keys,
    label: () =>
      choice
        ? { ok: true, label: { choice, ...(reason.value.trim() ? { reason: reason.value } : {}) } }
        : { ok: false, missing: 'choose A, B, tie or both bad' },
    draft: () => ({ choice, reason: reason.value }),
  };
}
