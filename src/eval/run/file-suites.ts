import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { BenchmarkEntryInput } from '../../report/metrics.ts';
import { nowIso } from '../../schema/helpers.ts';
import type { Sample } from '../../schema/index.ts';
import { MmalignError } from '../../util/errors.ts';
import { lookup } from '../../util/table.ts';
import { type AmberAnnotation, scoreAmber } from '../amber.ts';
import { benchdataDir } from '../chair-synonyms.ts';
import { accuracyEntry, popeEntry } from '../entries.ts';
import { AmberAnnotationRecord, PopeQuestion, splitFromFileName } from '../files.ts';
import { readRecords } from '../io.ts';
import { judgePope, POPE_PARSER_NAMES, POPE_PARSERS, type PopeLabel, type PopeParserName, scorePope } from '../pope.ts';
import { sha256File } from '../score-files.ts';
import type { SuiteContext } from './context.ts';
import type { SuiteOutput } from './shapes.ts';

/**
 * File-based real benchmarks through the same runner and scorers: POPE question files + a COCO image folder, and
 * AMBER's query file + its image folder (discriminative part; the generative part needs relation.json and the
 * spaCy similarity step, see `mmalign eval score amber`). Prompts and decoding follow the reference harnesses.
 */

export interface FileSuiteOptions {
  data: readonly string[];
  images?: string;
  parser?: string;
}

/** LLaVA's POPE prompt suffix (model_vqa_loader), also lmms-eval's; greedy, up to 128 new tokens (lmms-eval). */
export const POPE_PROMPT_SUFFIX = '\nAnswer the question using a single word or phrase.';
const POPE_PARAMS = { temperature: 0, maxTokens: 128 };
/** VLMEvalKit's AMBER suffix; AMBER's scorer then needs the exact strings "Yes" / "No". */
export const AMBER_PROMPT_SUFFIX = '\nPlease answer yes or no.';
const AMBER_PARAMS = { temperature: 0, maxTokens: 16 };

export function imageSample(id: string, image: string, text: string, task: string): Sample {
  return {
    id,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text },
        ],
      },
    ],
    media: [{ kind: 'image', path: image }],
    task,
    provenance: { source: 'mmalign-eval', createdAt: nowIso() },
  };
}

export function imagesDigest(files: Iterable<string>): { path: string; sha256: string; role: string } {
  const h = createHash('sha256');
  let n = 0;
  for (const f of [...new Set(files)].sort()) {
    h.update(`${path.basename(f)} ${sha256File(f)}\n`);
    n++;
  }
  return {
    path: `images (${n} files)`,
    sha256: h.digest('hex'),
    role: 'sha256 over "name sha256" lines of every image used',
  };
}

export function resolveImage(images: string | undefined, name: string, file: string, line: number): string {
  if (!images) throw new MmalignError('MMALIGN_USAGE', "this suite needs --images DIR (the benchmark's image folder)");
  const p = path.resolve(images, name);
  if (!existsSync(p))
    throw new MmalignError('MMALIGN_NO_IMAGE', `${file}:${line}: image ${name} not found in ${images}`);
  return p;
}

export async function runPopeFileSuite(ctx: SuiteContext, o: FileSuiteOptions): Promise<SuiteOutput> {
  const parser = (o.parser ?? 'pope') as PopeParserName;
  lookup(POPE_PARSERS, 'POPE parser', parser);
  if (o.data.length === 0) throw new MmalignError('MMALIGN_USAGE', 'the pope suite needs --data QUESTIONS.json [...]');
  const entries: BenchmarkEntryInput[] = [];
  const images: string[] = [];
  const all: Array<{ s: Sample; label: PopeLabel; split: string }> = [];
  for (const file of o.data) {
    const recs = readRecords(file, PopeQuestion);
    const split = splitFromFileName(file);
    for (const r of recs) {
      const q = r.value;
      const label = (q.label ?? q.answer ?? '').toLowerCase().trim();
      if (label !== 'yes' && label !== 'no')
        throw new MmalignError('MMALIGN_INVALID_RECORD', `${file}:${r.line}: label must be yes or no`);
      const lim = ctx.limit;
      if (lim && all.filter((x) => x.split === (q.category ?? split)).length >= lim) continue;
      if (!q.image)
        throw new MmalignError('MMALIGN_INVALID_RECORD', `${file}:${r.line}: image: missing (the image file name)`);
      const img = resolveImage(o.images, q.image, file, r.line);
      images.push(img);
      all.push({
        s: imageSample(`${split}/${q.question_id}`, img, `${q.text ?? ''}${POPE_PROMPT_SUFFIX}`, 'pope'),
        label,
        split: q.category ?? split,
      });
    }
  }
  const out = await ctx.generate(
    'pope',
    all.map((x) => x.s),
    POPE_PARAMS,
  );
  for (const sp of [...new Set(all.map((x) => x.split)), 'all']) {
    const xs = sp === 'all' ? all : all.filter((x) => x.split === sp);
    if (sp === 'all' && o.data.length === 1) continue;
    const texts = xs.map((x) => out.get(x.s.id)?.text ?? '');
    const labels = xs.map((x) => x.label);
    const e = popeEntry(
      `pope/${sp}`,
      parser,
      labels,
      texts.map((t, i) => judgePope(parser, labels[i], t)),
      texts.map((t) => (t.trim() ? t.trim().split(/\s+/).length : 0)),
      xs.map((x) => x.s.id),
      ctx.boot,
    );
    e.metrics.f1_by_parser = Object.fromEntries(
      POPE_PARSER_NAMES.map((p) => [
        p,
        scorePope(
          labels.map((l, i) => ({ label: l, answer: texts[i] })),
          p,
        ).f1,
      ]),
    );
    entries.push(e);
  }
  return {
    entries,
    decoding: { pope: { ...POPE_PARAMS, prompt_suffix: POPE_PROMPT_SUFFIX } },
    notes: [`POPE scored with the ${parser} rule; F1 under the other rules is in each entry's f1_by_parser`],
    judge: null,
    files: [...o.data.map((f) => ({ path: f, sha256: sha256File(f), role: 'POPE questions' })), imagesDigest(images)],
  };
}

const AmberQuery = z.object({ id: z.number().int().positive(), image: z.string(), query: z.string() });

export async function runAmberFileSuite(ctx: SuiteContext, o: FileSuiteOptions): Promise<SuiteOutput> {
  const [queries, annFile = path.join(benchdataDir(), 'amber_annotations.json')] = o.data;
  if (!queries)
    throw new MmalignError(
      'MMALIGN_USAGE',
      'the amber suite needs --data query_discriminative.json [annotations.json]',
    );
  const ann = readRecords(annFile, AmberAnnotationRecord).map((r) => r.value as AmberAnnotation);
  const byId = new Map(ann.map((a) => [a.id, a]));
  const qs = readRecords(queries, AmberQuery).filter((r) => byId.get(r.value.id)?.type !== 'generative');
  const picked = ctx.limit ? qs.slice(0, ctx.limit) : qs;
  const images: string[] = [];
  const samples = picked.map((r) => {
    const img = resolveImage(o.images, r.value.image, queries, r.line);
    images.push(img);
    return imageSample(`amber/${r.value.id}`, img, `${r.value.query}${AMBER_PROMPT_SUFFIX}`, 'amber');
  });
  const out = await ctx.generate('amber', samples, AMBER_PARAMS);
  const responses = picked.map((r, i) => ({ id: r.value.id, response: (out.get(samples[i].id)?.text ?? '').trim() }));
  const res = scoreAmber(ann, responses);
  const d = res.discriminative;
  const entries: BenchmarkEntryInput[] = [];
  if (d) {
    const e = accuracyEntry(
      'amber',
      'amber/discriminative',
      'AMBER discriminative',
      'amber/inference.py (exact "Yes"/"No", answers trimmed)',
      res.items.map((x) => x.correct),
      responses.map((r) => r.response === 'Yes' || r.response === 'No'),
      responses.map((r) => (r.response ? r.response.split(/\s+/).length : 0)),
      responses.map((r) => String(r.id)),
      ctx.boot,
    );
    // AMBER's own figures (percent, rounded as the reference) beside the item-level accuracy
    e.headline = { name: 'f1', value: d.overall.f1, ci: null, scale: 100 };
    e.metrics = { ...d };
    entries.push(e);
  }
  return {
    entries,
    decoding: { amber: { ...AMBER_PARAMS, prompt_suffix: AMBER_PROMPT_SUFFIX } },
    notes: [
      'AMBER responses are trimmed before its exact "Yes"/"No" match; the generative part is scored with `mmalign eval score amber --relation`',
    ],
    judge: null,
    files: [
      { path: queries, sha256: sha256File(queries), role: 'AMBER queries' },
      { path: annFile, sha256: sha256File(annFile), role: 'AMBER annotations' },
      imagesDigest(images),
    ],
  };
}
