import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Response, Sample } from '../../schema/index.ts';
import { MmalignError, RecordValidationError } from '../../util/errors.ts';
import { StageLedger } from '../ledger.ts';
import type { InputRecord, StageEnv } from '../stage.ts';

/**
 * Helpers shared by the negative, judge and pairing stages. A stage has one `input` (the runner checks it
 * finished); the extra stages some of them read (samples beside responses, several response stages) are checked
 * here the same way, so a partial earlier stage is never read as if it were whole.
 */

export async function requireFinished(env: StageEnv, reader: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const dir = path.join(env.runDir, 'stages', name);
    let ok = false;
    if (existsSync(path.join(dir, 'ledger.sqlite'))) {
      const l = await StageLedger.open(dir);
      try {
        ok = l.getMeta('finished') === '1';
      } finally {
        l.close();
      }
    }
    if (!ok)
      throw new MmalignError('MMALIGN_STAGE_INPUT', `stage "${reader}" reads "${name}", which has not finished`, {
        hint: `run the stages before "${reader}" first (mmalign construct CONFIG runs them in order)`,
      });
  }
}

function notA(kind: string, rec: InputRecord, reader: string): never {
  throw new RecordValidationError(
    [{ code: `not_a_${kind}`, message: `expected a ${kind} record`, file: rec.file, line: rec.line, path: '(record)' }],
    `${reader} reads ${kind} records there`,
  );
}

export async function readSamples(env: StageEnv, stage: string, reader: string): Promise<Map<string, Sample>> {
  const out = new Map<string, Sample>();
  for await (const rec of env.readInput(stage)) {
    const v = rec.value as Sample;
    if (typeof v?.id !== 'string' || !Array.isArray(v.messages) || !v.provenance) notA('Sample', rec, reader);
    out.set(v.id, { ...v, media: v.media ?? [] });
  }
  return out;
}

export async function readResponses(env: StageEnv, stages: readonly string[], reader: string): Promise<Response[]> {
  const out: Response[] = [];
  for (const stage of stages)
    for await (const rec of env.readInput(stage)) {
      const v = rec.value as Response;
      if (typeof v?.id !== 'string' || typeof v.sampleId !== 'string' || typeof v.text !== 'string')
        notA('Response', rec, reader);
      out.push(v);
    }
  return out;
}

export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

export function checkStageNames(
  ctx: { name: string; models: Readonly<Record<string, unknown>> },
  models: readonly string[],
): void {
  for (const m of models)
    if (!Object.hasOwn(ctx.models, m))
      throw new MmalignError(
        'MMALIGN_CONFIG',
        `${ctx.name}: unknown model "${m}"; models of this config: ${Object.keys(ctx.models).join(', ') || 'none'}`,
      );
}

/** Good answers a negative is made from: the sample's reference, or responses the rule judge grades correct. */
export function goodAnswers(
  sample: Sample,
  responses: readonly Response[] | undefined,
  correct: (s: Sample, text: string) => boolean,
): { text: string; responseId?: string }[] {
  if (!responses) {
    // ShapeWorld train references may carry caption noise; the exact caption is truth.caption
    const exact = sample.truth?.caption;
    const ref = typeof exact === 'string' ? exact : sample.reference;
    return ref !== undefined ? [{ text: ref }] : [];
  }
  const seen = new Set<string>();
  return responses
    .filter((r) => (r.visual ?? 'clean') === 'clean' && correct(sample, r.text))
    .filter((r) => !seen.has(r.text.trim()) && seen.add(r.text.trim()))
    .map((r) => ({ text: r.text.trim(), responseId: r.id }));
}
