import { clear, h } from '../dom.ts';
import type { Box } from '../media.ts';
import { type Editor, type EditorCtx, obj } from './editor.ts';

const TAGS = ['object', 'attribute', 'count', 'position', 'action', 'other'] as const;
type Tag = (typeof TAGS)[number];
interface Seg {
  start: number;
  end: number;
  tag: Tag;
  correction: string;
  box?: Box;
  media?: number;
}

/** Char offset of (node, offset) inside `root`, counting text only: `root.textContent` is the response text. */
function offsetIn(root: Node, node: Node, offset: number): number {
  const r = document.createRange();
  r.setStart(root, 0);
  r.setEnd(node, offset);
  return r.toString().length;
}

/**
 * RLHF-V segment correction: select a span (mouse, or `/` and type to find it), add it (s), tag it (1-6), type the
 * correction (e), optionally draw its box on the image (b, then drag). `0` marks the response as correct.
 */
export function segmentsEditor(ctx: EditorCtx): Editor {
  const text = ctx.view.responses[0].text;
  const init = obj(ctx.initial);
  const segs: Seg[] = Array.isArray(init.segments)
    ? init.segments.map((s) => {
        const o = obj(s);
        return {
          start: Number(o.start),
          end: Number(o.end),
          tag: (TAGS as readonly string[]).includes(String(o.tag)) ? (o.tag as Tag) : 'other',
          correction: typeof o.correction === 'string' ? o.correction : '',
          ...(Array.isArray(o.box) ? { box: o.box as Box, media: Number(o.media ?? 0) } : {}),
        };
      })
    : [];
  let noErrors = init.noErrors === true;
  let current = segs.length - 1;
  let pending: [number, number] | null = null;
  let drawing = false;

  const textEl = h('div', { class: 'response-text seg-text', attrs: { 'data-testid': 'seg-text' } });
  const list = h('div', { class: 'seg-list' });
  const preview = h('div', { class: 'response-text corrected' });
  const status = h('div', { class: 'seg-status' });
  const find = h('input', {
    class: 'find',
    attrs: { placeholder: 'Find span: press / and type part of the response, Enter adds it', disabled: ctx.readonly },
    on: {
      input: () => {
        const q = find.value;
        const i = q ? text.indexOf(q) : -1;
        pending = i >= 0 ? [i, i + q.length] : null;
        paintText();
      },
      keydown: (e) => {
        if (e.key === 'Enter' && !e.ctrlKey) {
          e.preventDefault();
          if (add()) {
            find.value = '';
            list.querySelectorAll<HTMLInputElement>('input.correction')[current]?.focus();
          }
        }
      },
    },
  });

  const overlaps = (a: number, b: number) => segs.some((s) => a < s.end && s.start < b);
  const add = (): boolean => {
    if (ctx.readonly || !pending) return false;
    const [a, b] = pending;
    if (b <= a || overlaps(a, b)) {
      status.textContent = 'that span overlaps an existing one';
      return false;
    }
    segs.push({ start: a, end: b, tag: 'other', correction: '' });
    segs.sort((x, y) => x.start - y.start);
    current = segs.findIndex((s) => s.start === a);
    pending = null;
    noErrors = false;
    window.getSelection()?.removeAllRanges();
    render();
    ctx.changed();
    return true;
  };
  const paintText = () => {
    clear(textEl);
    const marks = [
      ...segs.map((s, i) => ({ a: s.start, b: s.end, cls: i === current ? 'seg current' : 'seg', tag: s.tag })),
    ];
    if (pending) marks.push({ a: pending[0], b: pending[1], cls: 'pending', tag: '' as Tag });
    marks.sort((x, y) => x.a - y.a);
    let at = 0;
    for (const m of marks) {
      if (m.a < at) continue;
      textEl.append(text.slice(at, m.a));
      textEl.appendChild(h('mark', { class: m.cls, attrs: { 'data-tag': m.tag || undefined } }, text.slice(m.a, m.b)));
      at = m.b;
    }
    textEl.append(text.slice(at));
  };
  const corrected = () => {
    let out = text;
    for (const s of [...segs].sort((a, b) => b.start - a.start))
      out = out.slice(0, s.start) + s.correction + out.slice(s.end);
    return out;
  };
  const paintBoxes = () =>
    ctx.media.showBoxes(
      segs.flatMap((s, i) =>
        s.box ? [{ media: s.media ?? 0, box: s.box, active: i === current, label: `#${i + 1} ${s.tag}` }] : [],
      ),
    );
  const render = () => {
    paintText();
    clear(list);
    segs.forEach((s, i) => {
      const tag = h(
        'select',
        {
          class: 'tag',
          attrs: { disabled: ctx.readonly },
          on: {
            change: () => {
              s.tag = tag.value as Tag;
              render();
              ctx.changed();
            },
          },
        },
        ...TAGS.map((t, k) => h('option', { attrs: { value: t } }, `${k + 1} ${t}`)),
      );
      tag.value = s.tag;
      const corr = h('input', {
        class: 'correction',
        attrs: { placeholder: 'correction (empty = delete the span)', disabled: ctx.readonly },
        on: {
          focus: () => {
            current = i;
            paintText();
            paintBoxes();
          },
          input: () => {
            s.correction = corr.value;
            preview.textContent = corrected();
            ctx.changed();
          },
        },
      });
      corr.value = s.correction;
      const boxBtn = h(
        'button',
        { class: 'box-btn', attrs: { disabled: ctx.readonly }, on: { click: () => toggleDraw(i) } },
        s.box ? `box ${s.box.join(',')}` : 'draw box',
        h('kbd', {}, 'b'),
      );
      const del = h(
        'button',
        { class: 'del', attrs: { disabled: ctx.readonly }, on: { click: () => remove(i) } },
        'delete',
        h('kbd', {}, 'd'),
      );
      list.appendChild(
        h(
          'div',
          {
            class: i === current ? 'seg-row current' : 'seg-row',
            attrs: { 'data-seg': i },
            on: { click: () => select(i) },
          },
          h('span', { class: 'quote' }, `#${i + 1} “${text.slice(s.start, s.end)}”`),
          tag,
          corr,
          boxBtn,
          del,
        ),
      );
    });
    preview.textContent = corrected();
    status.textContent = drawing
      ? `drag on the image to box segment #${current + 1} (b or Esc to stop)`
      : noErrors
        ? 'marked as containing no hallucination'
        : segs.length === 0
          ? 'no spans yet: select text then press s, or press 0 if the response is correct'
          : `${segs.length} span(s)`;
    paintBoxes();
  };
  const select = (i: number) => {
    if (i < 0 || i >= segs.length) return;
    current = i;
    render();
  };
  const remove = (i: number) => {
    if (ctx.readonly || i < 0 || i >= segs.length) return;
    segs.splice(i, 1);
    current = Math.min(current, segs.length - 1);
    render();
    ctx.changed();
  };
  const toggleDraw = (i = current) => {
    if (ctx.readonly || i < 0 || i >= segs.length) return;
    current = i;
    drawing = !drawing;
    ctx.media.onDraw = drawing
      ? (media, box) => {
          segs[current].box = box;
          segs[current].media = media;
          drawing = false;
          ctx.media.onDraw = null;
          render();
          ctx.changed();
        }
      : null;
    render();
  };
  textEl.addEventListener('mouseup', () => {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
    const r = sel.getRangeAt(0);
    if (!textEl.contains(r.startContainer) || !textEl.contains(r.endContainer)) return;
    const a = offsetIn(textEl, r.startContainer, r.startOffset);
    const b = offsetIn(textEl, r.endContainer, r.endOffset);
    pending = b > a ? [a, b] : null;
    status.textContent = pending ? `selected “${text.slice(a, b)}”: press s or click “add span”` : '';
  });
  render();

  const keys: Editor['keys'] = {
    '/': { help: 'find a span by typing it', run: () => find.focus() },
    s: { help: 'add the selected span', run: () => void add() },
    e: {
      help: 'type the correction of the current span',
      run: () => list.querySelectorAll<HTMLInputElement>('input.correction')[current]?.focus(),
    },
    b: { help: 'draw a box on the image for the current span', run: () => toggleDraw() },
    d: { help: 'delete the current span', run: () => remove(current) },
    j: { help: 'next span', run: () => select(current + 1) },
    k: { help: 'previous span', run: () => select(current - 1) },
    '0': {
      help: 'mark the response as correct (no hallucination)',
      run: () => {
        if (ctx.readonly || segs.length > 0) return;
        noErrors = !noErrors;
        render();
        ctx.changed();
      },
    },
    Escape: { help: 'stop drawing', run: () => drawing && toggleDraw() },
  };
  TAGS.forEach((t, k) => {
    keys[String(k + 1)] = {
      help: `tag the current span "${t}"`,
      run: () => {
        if (ctx.readonly || current < 0) return;
        segs[current].tag = t;
        render();
        ctx.changed();
      },
    };
  });
  return {
    el: h(
      'div',
      { class: 'segments' },
      h(
        'div',
        { class: 'response' },
        h('div', { class: 'response-head' }, 'Response (select hallucinated spans)'),
        textEl,
      ),
      h(
        'div',
        { class: 'seg-tools' },
        find,
        h(
          'button',
          { class: 'add', attrs: { disabled: ctx.readonly }, on: { click: () => void add() } },
          'add span',
          h('kbd', {}, 's'),
        ),
        h(
          'button',
          { class: 'no-errors', attrs: { disabled: ctx.readonly }, on: { click: () => keys['0'].run() } },
          'no hallucination',
          h('kbd', {}, '0'),
        ),
      ),
      status,
      list,
      h('div', { class: 'response' }, h('div', { class: 'response-head' }, 'Corrected response (chosen)'), preview),
    ),
    keys,
    label: () => {
      if (segs.length === 0 && !noErrors)
        return { ok: false, missing: 'mark at least one span, or press 0 if the response has no hallucination' };
      return {
        ok: true,
        label: {
          segments: segs.map((s) => ({
            start: s.start,
            end: s.end,
            tag: s.tag,
            correction: s.correction,
            ...(s.box ? { box: s.box, media: s.media ?? 0 } : {}),
          })),
        },
      };
    },
    draft: () => ({ segments: segs, noErrors }),
  };
}
