import { h } from '../dom.ts';
import { type Editor, type EditorCtx, letter, obj } from './editor.ts';

type Cell = { score: number | null; rationale: string };

/** Per-aspect scores: j/k move between cells, a digit sets the score, r types the rationale. */
export function ratingEditor(ctx: EditorCtx): Editor {
  const { aspects, scale, responses } = ctx.view;
  const [lo, hi] = scale;
  const init = obj(ctx.initial);
  const initScores = Array.isArray(init.scores) ? init.scores : [];
  const cells: Cell[][] = responses.map((_, i) =>
    aspects.map((a) => {
      const s = obj(obj(initScores[i])[a]);
      return {
        score: typeof s.score === 'number' ? s.score : null,
        rationale: typeof s.rationale === 'string' ? s.rationale : '',
      };
    }),
  );
  let cur = 0;
  const flat: { i: number; a: number; row: HTMLElement; btns: HTMLButtonElement[]; why: HTMLInputElement }[] = [];
  const blocks = responses.map((r, i) =>
    h(
      'div',
      { class: 'response', attrs: { 'data-pos': letter(i) } },
      h('div', { class: 'response-head' }, `Response ${letter(i)}`),
      h('div', { class: 'response-text' }, r.text),
      ...aspects.map((asp, a) => {
        const btns: HTMLButtonElement[] = [];
        for (let s = lo; s <= hi; s++)
          btns.push(
            h(
              'button',
              {
                class: 'rank-btn',
                attrs: { 'data-score': s, disabled: ctx.readonly },
                on: { click: () => setScore(i, a, s) },
              },
              String(s),
            ),
          );
        const why = h('input', {
          class: 'rationale',
          attrs: { placeholder: `why (${asp})`, disabled: ctx.readonly },
          on: {
            input: () => {
              cells[i][a].rationale = why.value;
              ctx.changed();
            },
          },
        });
        why.value = cells[i][a].rationale;
        const row = h(
          'div',
          { class: 'aspect-row', attrs: { 'data-aspect': asp } },
          h('span', { class: 'aspect' }, asp),
          ...btns,
          why,
        );
        flat.push({ i, a, row, btns, why });
        return row;
      }),
    ),
  );
  const paint = () =>
    flat.forEach((f, k) => {
      f.row.classList.toggle('cursor', k === cur);
      for (const [s, b] of f.btns.entries()) b.classList.toggle('selected', cells[f.i][f.a].score === lo + s);
    });
  const setScore = (i: number, a: number, s: number) => {
    if (ctx.readonly) return;
    cells[i][a].score = s;
    cur = flat.findIndex((f) => f.i === i && f.a === a);
    paint();
    ctx.changed();
  };
  paint();
  const keys: Editor['keys'] = {
    j: {
      help: 'next aspect',
      run: () => {
        cur = Math.min(flat.length - 1, cur + 1);
        paint();
      },
    },
    k: {
      help: 'previous aspect',
      run: () => {
        cur = Math.max(0, cur - 1);
        paint();
      },
    },
    r: { help: 'type the rationale', run: () => flat[cur].why.focus() },
  };
  for (let s = lo; s <= hi && s <= 9; s++)
    if (s >= 0)
      keys[String(s)] = {
        help: `score ${s} (then moves on)`,
        run: () => {
          setScore(flat[cur].i, flat[cur].a, s);
          cur = Math.min(flat.length - 1, cur + 1);
          paint();
        },
      };
  return {
    el: h('div', { class: 'rating' }, h('p', { class: 'hint' }, `Scale ${lo} (worst) to ${hi} (best).`), ...blocks),
    keys,
    label: () => {
      for (const [i, row] of cells.entries())
        for (const [a, c] of row.entries())
          if (c.score === null) return { ok: false, missing: `score "${aspects[a]}" of response ${letter(i)}` };
      return {
        ok: true,
        label: {
          scores: cells.map((row) =>
            Object.fromEntries(
              row.map((c, a) => [
                aspects[a],
                { score: c.score, ...(c.rationale.trim() ? { rationale: c.rationale } : {}) },
              ]),
            ),
          ),
        },
      };
    },
    draft: () => ({
      scores: cells.map((row) =>
        Object.fromEntries(row.map((c, a) => [aspects[a], { score: c.score, rationale: c.rationale }])),
      ),
    }),
  };
}
