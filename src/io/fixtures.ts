import { PNG } from 'pngjs';
import type { ImageRef, Preference, Provenance, Sample } from '../schema/index.ts';
import type { JsonlEntry } from './jsonl.ts';
import type { MediaStore } from './media.ts';
import type { ParquetColumn } from './parquet.ts';

/**
 * Small deterministic fixtures for tests and benchmarks of io and its users (export engines): a solid-colour PNG
 * encoder and one record of every preference kind over images put in a media store.
 */
export function solidPng(width: number, height: number, rgb: [number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = rgb[0];
    png.data[i * 4 + 1] = rgb[1];
    png.data[i * 4 + 2] = rgb[2];
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

export const FIXED_PROVENANCE = {
  source: 'fixture',
  createdAt: '2026-01-01T00:00:00.000Z',
  annotator: { kind: 'rule', id: 'fixture' },
} as const satisfies Provenance;

/** One preference of each kind (and the pair variants exporters care about), all over images of `store`. */
export async function fixturePreferences(store: MediaStore): Promise<Record<string, Preference>> {
  const red = await store.put(solidPng(8, 6, [255, 0, 0]));
  const blue = await store.put(solidPng(5, 7, [0, 0, 255]));
  const noisy: ImageRef = await store.put(solidPng(8, 6, [120, 120, 120]));
  const prov = FIXED_PROVENANCE;
  const ask = (text: string) => [
    {
      role: 'user' as const,
      content: [
        { type: 'image' as const, media: 0 },
        { type: 'text' as const, text },
      ],
    },
  ];
  return {
    pair: {
      kind: 'pair',
      id: 'p1',
      sampleId: 's1',
      prompt: ask('What is in the image?'),
      media: [red],
      chosen: { text: 'A red square.', model: 'm1', refLogp: -3.5 },
      rejected: { text: 'A red square and a cat.', model: 'm2', refLogp: -7.25 },
      margin: 1.5,
      provenance: prov,
    },
    multiturn: {
      kind: 'pair',
      id: 'p2',
      sampleId: 's2',
      prompt: [
        { role: 'system', content: 'You describe images.' },
        {
          role: 'user',
          content: [
            { type: 'image', media: 0 },
            { type: 'text', text: 'Compare ' },
            { type: 'image', media: 1 },
            { type: 'text', text: ' please.' },
          ],
        },
        { role: 'assistant', content: 'One is red.' },
        { role: 'user', content: 'And the other?' },
      ],
      media: [red, blue],
      chosen: { text: 'Blue.' },
      rejected: { text: 'Green.' },
      provenance: prov,
    },
    segments: {
      kind: 'segments',
      id: 'g1',
      sampleId: 's1',
      prompt: ask('Describe.'),
      media: [red],
      rejected: { text: 'A red cat.' },
      chosen: { text: 'A red square.' },
      segments: [{ start: 6, end: 9, text: 'cat', correction: 'square', tag: 'object' }],
      provenance: prov,
    },
    ranking: {
      kind: 'ranking',
      id: 'r1',
      sampleId: 's1',
      prompt: ask('Describe.'),
      media: [red],
      responses: [{ text: 'ok' }, { text: 'best' }, { text: 'worst' }],
      ranks: [2, 1, 3],
      provenance: prov,
    },
    rubric: {
      kind: 'rubric',
      id: 's3',
      sampleId: 's3',
      prompt: ask('Describe the colour.'),
      media: [blue],
      responses: [
        { text: 'Blue.', model: 'gpt-4v' },
        { text: 'Purple.', model: 'llava' },
      ],
      scores: [
        { Helpfulness: { score: 5, rationale: 'right' }, 'Visual Faithfulness': { score: 5, rationale: 'exact' } },
        { Helpfulness: { score: 2, rationale: 'wrong hue' }, 'Visual Faithfulness': { score: 1 } },
      ],
      provenance: prov,
    },
    imagePair: {
      kind: 'image_pair',
      id: 'i1',
      sampleId: 's1',
      prompt: ask('Describe.'),
      media: [red],
      response: { text: 'A red square.' },
      rejectedMedia: [noisy],
      corruption: 'noise',
      provenance: prov,
    },
    binary: {
      kind: 'binary',
      id: 'b1',
      sampleId: 's1',
      prompt: ask('Describe.'),
      media: [red],
      response: { text: 'A red square.' },
      label: true,
      provenance: prov,
    },
    rejectedImages: {
      kind: 'pair',
      id: 'p3',
      sampleId: 's1',
      prompt: ask('Describe.'),
      media: [red],
      chosen: { text: 'A red square.' },
      rejected: { text: 'A grey square.' },
      rejectedMedia: [noisy],
      provenance: prov,
    },
  };
}

export async function fixtureSamples(store: MediaStore): Promise<Sample[]> {
  const red = await store.put(solidPng(8, 6, [255, 0, 0]));
  const blue = await store.put(solidPng(5, 7, [0, 0, 255]));
  const prov = { source: 'fixture', createdAt: '2026-01-01T00:00:00.000Z' };
  return [
    {
      id: 'l1',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', media: 0 },
            { type: 'text', text: 'What colour?' },
          ],
        },
      ],
      media: [red],
      reference: 'Red.',
      provenance: prov,
    },
    {
      id: 'l2',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', media: 0 },
            { type: 'image', media: 1 },
            { type: 'text', text: 'Same?' },
          ],
        },
        { role: 'assistant', content: 'No.' },
        { role: 'user', content: 'Why?' },
      ],
      media: [red, blue],
      reference: 'Different colours.',
      provenance: prov,
    },
    {
      id: 'l3',
      messages: [{ role: 'user', content: 'No image here.' }],
      media: [],
      reference: 'Fine.',
      provenance: prov,
    },
    {
      id: 'l4',
      messages: [{ role: 'user', content: 'no answer' }],
      media: [],
      task: 'caption',
      provenance: prov,
    },
  ];
}

/** Every column type of `writeParquetRows`, for the parquet tests. */
export const ALL_PARQUET_COLUMNS: ParquetColumn[] = [
  { name: 's', type: 'string' },
  { name: 'd', type: 'double' },
  { name: 'i', type: 'int' },
  { name: 'b', type: 'boolean' },
  { name: 'j', type: 'json' },
  { name: 'raw', type: 'bytes' },
  { name: 'list', type: 'bytes_list' },
  { name: 'img', type: 'image' },
];

/** Drain an async iterable of reader entries into an array. */
export async function collectEntries(it: AsyncIterable<JsonlEntry>): Promise<JsonlEntry[]> {
  const out: JsonlEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}
