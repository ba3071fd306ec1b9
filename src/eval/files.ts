import path from 'node:path';
import { z } from 'zod';
import { RecordValidationError, type ValidationIssue } from '../util/errors.ts';
import { type Located, readRecords } from './io.ts';
import type { PopeItem } from './pope.ts';

/**
 * File formats the `eval score` commands read, validated with zod (errors name file:line:field), and turned into
 * scorer inputs. Field names follow the reference files (POPE `question_id/text/label`, answers `text`|`answer`).
 */

const Id = z.union([z.number(), z.string()]);

export const PopeQuestion = z.object({
  question_id: Id,
  image: z.string().optional(),
  text: z.string().optional(),
  label: z.string().optional(),
  answer: z.string().optional(),
  category: z.string().optional(),
  split: z.string().optional(),
});
export const PopeAnswer = z.object({
  question_id: Id.optional(),
  text: z.string().optional(),
  answer: z.string().optional(),
});

/** LLaVA derives the split from the file name (`coco_pope_{category}.json`); so do we when several files are given. */
export function splitFromFileName(file: string): string {
  const base = path.basename(file).replace(/\.(jsonl?|json)$/i, '');
  const m = /pope_([a-z]+)$/i.exec(base);
  return m ? m[1] : base;
}

function label(q: z.infer<typeof PopeQuestion>): string | undefined {
  return (q.label ?? q.answer)?.toLowerCase().trim();
}

/**
 * Pair questions with answers by question_id (or by position when the answers carry none, as POPE's own script
 * does). Several question files: per-file answers if as many answer files are given, else ids must be unique.
 */
export function loadPopeItems(
  questionFiles: readonly string[],
  answerFiles: readonly string[],
): { items: PopeItem[]; ids: string[] } {
  const qs = questionFiles.map((f) => ({ file: f, recs: readRecords(f, PopeQuestion) }));
  const as = answerFiles.map((f) => ({ file: f, recs: readRecords(f, PopeAnswer) }));
  const issues: ValidationIssue[] = [];
  for (const { file, recs } of qs)
    for (const r of recs) {
      const l = label(r.value);
      if (l !== 'yes' && l !== 'no')
        issues.push({
          code: 'bad_label',
          message: `label must be "yes" or "no", got ${JSON.stringify(r.value.label ?? r.value.answer)}`,
          file,
          line: r.line,
          path: 'label',
        });
    }
  for (const { file, recs } of as)
    for (const r of recs)
      if (r.value.text === undefined && r.value.answer === undefined)
        issues.push({
          code: 'missing_field',
          message: 'an answer needs "text" or "answer"',
          file,
          line: r.line,
          path: 'text',
        });
  if (issues.length) throw new RecordValidationError(issues);

  const several = qs.length > 1;
  type Rec<T> = { value: T; line: number; file: string };
  const withFile = <T>(g: { file: string; recs: Located<T>[] }): Rec<T>[] => {
    const out: Rec<T>[] = new Array(g.recs.length);
    for (let i = 0; i < g.recs.length; i++) out[i] = { value: g.recs[i].value, line: g.recs[i].line, file: g.file };
    return out;
  };
  const paired = several && as.length === qs.length;
  const groups = paired
    ? qs.map((q, i) => ({ questions: withFile(q), answers: withFile(as[i]) }))
    : [{ questions: qs.flatMap(withFile), answers: as.flatMap(withFile) }];
  const text = (a: z.infer<typeof PopeAnswer>) => a.text ?? a.answer ?? '';
  const items: PopeItem[] = [];
  const ids: string[] = [];
  for (const { questions, answers } of groups) {
    const byPosition = answers.length > 0 && answers.every((a) => a.value.question_id === undefined);
    const amap = new Map<string, string>();
    if (!byPosition) {
      for (const a of answers) {
        if (a.value.question_id === undefined) {
          issues.push({
            code: 'missing_field',
            message: 'question_id missing (other answers have one)',
            file: a.file,
            line: a.line,
            path: 'question_id',
          });
          continue;
        }
        const k = String(a.value.question_id);
        if (amap.has(k))
          issues.push({
            code: 'duplicate',
            message: `second answer for question_id ${k}`,
            file: a.file,
            line: a.line,
            path: 'question_id',
          });
        amap.set(k, text(a.value));
      }
    } else if (answers.length !== questions.length) {
      issues.push({
        code: 'count_mismatch',
        message: `${answers.length} answers without question_id for ${questions.length} questions`,
        file: answers[0].file,
      });
    }
    const seen = new Set<string>();
    questions.forEach((r, i) => {
      const q = r.value;
      const k = String(q.question_id);
      if (seen.has(k))
        issues.push({
          code: 'duplicate',
          message: `question_id ${k} repeats; give one answers file per questions file`,
          file: r.file,
          line: r.line,
          path: 'question_id',
        });
      seen.add(k);
      const ans = byPosition ? (answers[i] ? text(answers[i].value) : undefined) : amap.get(k);
      if (ans === undefined) {
        issues.push({
          code: 'missing_answer',
          message: `no answer for question_id ${k}`,
          file: r.file,
          line: r.line,
          path: 'question_id',
        });
        return;
      }
      const category = q.category ?? q.split ?? (several ? splitFromFileName(r.file) : undefined);
      items.push({ label: label(q) as 'yes' | 'no', answer: ans, category });
      ids.push(category ? `${category}/${k}` : k);
    });
    if (!byPosition)
      for (const a of answers) {
        const k = String(a.value.question_id);
        if (a.value.question_id !== undefined && !seen.has(k))
          issues.push({
            code: 'unknown_id',
            message: `answer for unknown question_id ${k}`,
            file: a.file,
            line: a.line,
            path: 'question_id',
          });
      }
  }
  if (issues.length) throw new RecordValidationError(issues);
  return { items, ids };
}

export const ChairCaptionRecord = z.object({
  image_id: Id,
  caption: z.string(),
  objects: z.array(z.string()),
});

export const MmhalJudgementRecord = z.object({
  question_type: z.string().optional(),
  judgement: z.string(),
});

export const AmberResponseRecord = z.object({ id: z.number().int().positive(), response: z.string() });
export const AmberAnnotationRecord = z.object({
  id: z.number().int(),
  type: z.string(),
  truth: z.union([z.string(), z.array(z.string())]),
  hallu: z.array(z.string()).optional(),
});

export const RewardRecord = z.object({
  id: Id,
  category: z.string().default('all'),
  group: Id.optional(),
  pred: z.string().nullable().optional(),
  judgement: z.string().optional(),
  gold: z.string(),
});

export const McRecord = z.object({
  question: Id,
  rotation: z.number().int().nonnegative().default(0),
  options: z.array(z.string()).min(2),
  answer: z.string(),
  gold: z.string(),
  category: z.string().optional(),
});

export const MathRecord = z.object({
  response: z.string(),
  question_type: z.enum(['multi_choice', 'free_form']),
  answer_type: z.enum(['integer', 'float', 'text', 'list']),
  answer: z.string(),
  choices: z.array(z.string()).nullable().optional(),
  precision: z.number().nullable().optional(),
});

export const SafetyRecord = z.object({
  should_refuse: z.boolean(),
  response: z.string(),
  label: z.string().optional(),
  judgement: z.string().optional(),
  category: z.string().optional(),
});
