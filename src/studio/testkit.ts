import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Preference, Response, Sample } from '../schema/index.ts';

/**
 * Small real projects for tests, the bench and demos: PNG scenes (coloured squares on white) with prompts and
 * responses, some of them hallucinated, some carrying XSS payloads that must stay inert.
 */
export const XSS = ['<script>window.__xss = 1</script>', '<img src=x onerror="window.__xss = 1">'] as const;

const COLORS: Record<string, [number, number, number]> = {
  red: [220, 38, 38],
  blue: [37, 99, 235],
  green: [22, 163, 74],
  yellow: [234, 179, 8],
};

/** A W×H white PNG with one filled square per entry. */
export function scenePng(
  w: number,
  h: number,
  squares: { color: keyof typeof COLORS; x: number; y: number; s: number }[],
): Buffer {
  const png = new PNG({ width: w, height: h });
  png.data.fill(255);
  for (const q of squares) {
    const [r, g, b] = COLORS[q.color];
    for (let y = q.y; y < Math.min(h, q.y + q.s); y++)
      for (let x = q.x; x < Math.min(w, q.x + q.s); x++) {
        const i = (y * w + x) * 4;
        png.data[i] = r;
        png.data[i + 1] = g;
        png.data[i + 2] = b;
      }
  }
  return PNG.sync.write(png);
}

const prov = (source: string) => ({ source, createdAt: '2026-11-26T00:00:00.000Z' });

/** Write `n` samples with `perSample` responses each (and their images) as one JSONL; returns its path. */
export function writeSampleSet(
  dir: string,
  n: number,
  perSample: number,
  opts: { video?: boolean; xss?: boolean } = {},
): string {
  mkdirSync(path.join(dir, 'images'), { recursive: true });
  const colors = Object.keys(COLORS) as (keyof typeof COLORS)[];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = colors[i % colors.length];
    const other = colors[(i + 1) % colors.length];
    const img = `images/scene-${i}.png`;
    writeFileSync(
      path.join(dir, img),
      scenePng(160, 120, [
        { color: c, x: 20 + (i % 5) * 10, y: 30, s: 40 },
        { color: other, x: 100, y: 60, s: 30 },
      ]),
    );
    const media: Sample['media'] = [{ kind: 'image', path: img }];
    if (opts.video) {
      const frames = [0, 1, 2, 3].map((f) => {
        const p = `images/clip-${i}-${f}.png`;
        writeFileSync(path.join(dir, p), scenePng(80, 60, [{ color: c, x: 5 + f * 15, y: 15, s: 20 }]));
        return { kind: 'image' as const, path: p };
      });
      media.push({ kind: 'video', frames, fps: 2 });
    }
    const sample: Sample = {
      id: `s${i}`,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', media: 0 },
            { type: 'text', text: opts.xss && i === 0 ? `Describe the image. ${XSS[0]}` : 'Describe the image.' },
          ],
        },
      ],
      media,
      provenance: prov('testkit'),
    };
    lines.push(JSON.stringify(sample));
    for (let k = 0; k < perSample; k++) {
      const text =
        opts.xss && i === 0 && k < 2
          ? `There is a ${c} square. ${XSS[k]}`
          : k === 0
            ? `There is a ${c} square and a ${other} square.`
            : k === 1
              ? `There is a ${other} circle next to three ${c} squares.`
              : `I see ${k} shapes, one of them ${c}.`;
      const r: Response = {
        id: `s${i}-r${k}`,
        sampleId: `s${i}`,
        text,
        model: `model-${k}`,
        provenance: prov('testkit'),
      };
      lines.push(JSON.stringify(r));
    }
  }
  const file = path.join(dir, 'samples.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** AI-judge pair preferences over the same samples (judge prefers response 0), for human-vs-judge agreement. */
export function writeJudgePairs(dir: string, n: number, judge = 'gpt-judge'): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = Object.keys(COLORS)[i % 4];
    const other = Object.keys(COLORS)[(i + 1) % 4];
    const p: Preference = {
      kind: 'pair',
      id: `j${i}`,
      sampleId: `s${i}`,
      prompt: [
        {
          role: 'user',
          content: [
            { type: 'image', media: 0 },
            { type: 'text', text: 'Describe the image.' },
          ],
        },
      ],
      media: [{ kind: 'image', path: `images/scene-${i}.png` }],
      chosen: { text: `There is a ${c} square and a ${other} square.`, responseId: `s${i}-r0` },
      rejected: { text: `There is a ${other} circle next to three ${c} squares.`, responseId: `s${i}-r1` },
      provenance: { ...prov('judge-run'), annotator: { kind: 'closed_model', id: judge } },
    };
    lines.push(JSON.stringify(p));
  }
  const file = path.join(dir, 'judge.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
