import { h } from '../dom.ts';
import { type Editor, type EditorCtx, obj } from './editor.ts';

export function binaryEditor(ctx: EditorCtx): Editor {
  const init = obj(ctx.initial);
  let value: boolean | null = typeof init.label === 'boolean' ? init.label : null;
  const good = h(
    'button',
    { class: 'choice', attrs: { 'data-choice': 'good', disabled: ctx.readonly }, on: { click: () => set(true) } },
    'Good',
    h('kbd', {}, 'g'),
  );
  const bad = h(
    'button',
    { class: 'choice', attrs: { 'data-choice': 'bad', disabled: ctx.readonly }, on: { click: () => set(false) } },
    'Bad',
    h('kbd', {}, 'b'),
  );
  const paint = () => {
    good.classList.toggle('selected', value === true);
    bad.classList.toggle('selected', value === false);
  };
  const set = (v: boolean) => {
    if (ctx.readonly) return;
    value = v;
    paint();
    ctx.changed();
  };
  paint();
  return {
    el: h(
      'div',
      { class: 'binary' },
      h(
        'div',
        { class: 'response' },
        h('div', { class: 'response-head' }, 'Response'),
        h('div', { class: 'response-text' }, ctx.view.responses[0].text),
      ),
      h('div', { class: 'choices' }, good, bad),
    ),
    keys: {
      g: { help: 'good', run: () => set(true) },
      '1': { help: 'good', run: () => set(true) },
      b: { help: 'bad', run: () => set(false) },
      '2': { help: 'bad', run: () => set(false) },
    },
    label: () =>
      value === null ? { ok: false, missing: 'choose good or bad' } : { ok: true, label: { label: value } },
    draft: () => ({ label: value }),
  };
}
