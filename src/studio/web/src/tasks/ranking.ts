import { h } from '../dom.ts';
import { type Editor, type EditorCtx, letter, obj } from './editor.ts';

/** Ranks with ties: a digit sets the rank of the response under the cursor (j/k or arrows move it). */
export function rankingEditor(ctx: EditorCtx): Editor {
  const n = ctx.view.responses.length;
  const init = obj(ctx.initial);
  const ranks: (number | null)[] = Array.isArray(init.ranks)
    ? init.ranks.map((r) => (typeof r === 'number' ? r : null))
    : new Array(n).fill(null);
  let cursor = 0;
  const rows = ctx.view.responses.map((r, i) => {
    const btns = Array.from({ length: n }, (_, k) =>
      h(
        'button',
        {
          class: 'rank-btn',
          attrs: { 'data-rank': k + 1, disabled: ctx.readonly },
          on: { click: () => set(i, k + 1) },
        },
        String(k + 1),
      ),
    );
    const row = h(
      'div',
      { class: 'response rank-row', attrs: { 'data-pos': letter(i) }, on: { click: () => move(i) } },
      h(
        'div',
        { class: 'response-head' },
        `Response ${letter(i)}`,
        h('span', { class: 'rank-buttons' }, 'rank ', ...btns),
      ),
      h('div', { class: 'response-text' }, r.text),
    );
    return { row, btns };
  });
  const paint = () =>
    rows.forEach(({ row, btns }, i) => {
      row.classList.toggle('cursor', i === cursor);
      for (const [k, b] of btns.entries()) b.classList.toggle('selected', ranks[i] === k + 1);
    });
  const move = (i: number) => {
    cursor = (i + n) % n;
    paint();
  };
  const set = (i: number, r: number | null) => {
    if (ctx.readonly) return;
    ranks[i] = r;
    cursor = i;
    paint();
    ctx.changed();
  };
  paint();
  const keys: Editor['keys'] = {
    j: { help: 'next response', run: () => move(cursor + 1) },
    ArrowDown: { help: 'next response', run: () => move(cursor + 1) },
    k: { help: 'previous response', run: () => move(cursor - 1) },
    ArrowUp: { help: 'previous response', run: () => move(cursor - 1) },
    '0': { help: 'clear rank', run: () => set(cursor, null) },
  };
  for (let k = 1; k <= Math.min(9, n); k++)
    keys[String(k)] = {
      help: `rank ${k} (then moves down)`,
      run: () => {
        set(cursor, k);
        if (cursor < n - 1) move(cursor + 1);
      },
    };
  return {
    el: h(
      'div',
      { class: 'ranking' },
      h('p', { class: 'hint' }, 'Rank 1 = best. Equal ranks = tie.'),
      ...rows.map((r) => r.row),
    ),
    keys,
    label: () => {
      const missing = ranks.indexOf(null);
      return missing >= 0
        ? { ok: false, missing: `rank response ${letter(missing)}` }
        : { ok: true, label: { ranks: ranks as number[] } };
    },
    draft: () => ({ ranks }),
  };
}
