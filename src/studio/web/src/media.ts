import { type MediaView, mediaUrl } from './api.ts';
import { clear, h } from './dom.ts';

export type Box = [number, number, number, number];
export interface MediaPanel {
  el: HTMLElement;
  zoom(delta: number): void;
  frame(delta: number): void;
  /** Draw boxes (image pixels) over image `media`; `active` is highlighted. */
  showBoxes(boxes: { media: number; box: Box; active: boolean; label: string }[]): void;
  /** While set, a mouse drag on an image reports a box in the image's own pixels. */
  onDraw: ((media: number, box: Box) => void) | null;
}

/**
 * The visual input I beside the responses: every image (click or +/- to zoom), a video as a strip of frames with
 * one shown large (,/. to step), audio with a player. Boxes are stored in natural image pixels.
 */
export function mediaPanel(media: MediaView[]): MediaPanel {
  let scale = 1;
  const stages: { media: number; stage: HTMLElement; img: HTMLImageElement; overlay: HTMLElement }[] = [];
  const frameSets: { show(i: number): void; current(): number; count: number }[] = [];
  const root = h('div', { class: 'media' });
  const panel: MediaPanel = {
    el: root,
    zoom(delta) {
      scale = Math.min(4, Math.max(0.5, scale + delta));
      for (const s of stages) s.stage.style.width = `${scale * 100}%`;
      root.dataset.zoom = String(scale);
    },
    frame(delta) {
      for (const f of frameSets) f.show(Math.min(f.count - 1, Math.max(0, f.current() + delta)));
    },
    showBoxes(boxes) {
      for (const s of stages) {
        clear(s.overlay);
        if (!s.img.naturalWidth) continue;
        for (const b of boxes.filter((x) => x.media === s.media)) {
          const [x, y, w, hh] = b.box;
          const el = h('div', { class: b.active ? 'box active' : 'box' }, h('span', {}, b.label));
          el.style.left = `${(100 * x) / s.img.naturalWidth}%`;
          el.style.top = `${(100 * y) / s.img.naturalHeight}%`;
          el.style.width = `${(100 * w) / s.img.naturalWidth}%`;
          el.style.height = `${(100 * hh) / s.img.naturalHeight}%`;
          s.overlay.appendChild(el);
        }
      }
    },
    onDraw: null,
  };
  const stage = (index: number, url: string, caption: string) => {
    const img = h('img', { attrs: { alt: caption, draggable: 'false' } });
    const overlay = h('div', { class: 'overlay' });
    const st = h('div', { class: 'stage', attrs: { 'data-media': index } }, img, overlay);
    void mediaUrl(url).then((u) => {
      img.src = u;
    });
    let start: [number, number] | null = null;
    // A drag ends with a click event: it must not also toggle the zoom.
    let justDrew = false;
    let rubber: HTMLElement | null = null;
    const pt = (e: MouseEvent): [number, number] => {
      const r = img.getBoundingClientRect();
      const fx = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
      const fy = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
      return [fx, fy];
    };
    st.addEventListener('mousedown', (e) => {
      if (!panel.onDraw) return;
      e.preventDefault();
      start = pt(e);
      rubber = h('div', { class: 'box drawing' });
      overlay.appendChild(rubber);
    });
    window.addEventListener('mousemove', (e) => {
      if (!start || !rubber) return;
      const p = pt(e);
      rubber.style.left = `${100 * Math.min(start[0], p[0])}%`;
      rubber.style.top = `${100 * Math.min(start[1], p[1])}%`;
      rubber.style.width = `${100 * Math.abs(p[0] - start[0])}%`;
      rubber.style.height = `${100 * Math.abs(p[1] - start[1])}%`;
    });
    window.addEventListener('mouseup', (e) => {
      if (!start) return;
      const p = pt(e);
      const [x0, y0] = start;
      start = null;
      rubber?.remove();
      rubber = null;
      const W = img.naturalWidth;
      const H = img.naturalHeight;
      const box: Box = [
        Math.round(Math.min(x0, p[0]) * W),
        Math.round(Math.min(y0, p[1]) * H),
        Math.round(Math.abs(p[0] - x0) * W),
        Math.round(Math.abs(p[1] - y0) * H),
      ];
      justDrew = true;
      setTimeout(() => {
        justDrew = false;
      }, 0);
      if (box[2] >= 2 && box[3] >= 2) panel.onDraw?.(index, box);
    });
    img.addEventListener('click', () => {
      if (!panel.onDraw && !justDrew) panel.zoom(scale >= 2 ? 1 - scale : 1);
    });
    stages.push({ media: index, stage: st, img, overlay });
    return st;
  };
  media.forEach((m, i) => {
    const title = h('div', { class: 'media-title' }, `${m.kind} ${i + 1}`);
    if (m.kind === 'image' && m.url) root.appendChild(h('figure', {}, title, stage(i, m.url, `image ${i + 1}`)));
    else if (m.kind === 'video' && m.frames.length > 0) {
      const big = h('img', { class: 'frame-big', attrs: { alt: `video ${i + 1} frame` } });
      let cur = 0;
      const thumbs = m.frames.map((url, j) => {
        const t = h('img', { class: 'thumb', attrs: { alt: `frame ${j + 1}` }, on: { click: () => set.show(j) } });
        void mediaUrl(url).then((u) => {
          t.src = u;
        });
        return t;
      });
      const label = h('span', { class: 'frame-no' });
      const set = {
        count: m.frames.length,
        current: () => cur,
        show(j: number) {
          cur = j;
          for (const [k, t] of thumbs.entries()) t.classList.toggle('current', k === j);
          label.textContent = `frame ${j + 1} / ${m.frames.length}`;
          void mediaUrl(m.frames[j]).then((u) => {
            big.src = u;
          });
        },
      };
      frameSets.push(set);
      set.show(0);
      root.appendChild(h('figure', {}, title, big, label, h('div', { class: 'strip' }, ...thumbs)));
    } else if (m.url) {
      const player = h(m.kind === 'audio' ? 'audio' : 'video', { attrs: { controls: true } });
      void mediaUrl(m.url).then((u) => {
        player.src = u;
      });
      root.appendChild(h('figure', {}, title, player));
    }
  });
  return panel;
}
