import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FORMAT_NAMES, type FormatName, getFormat } from '../../io/formats/index.ts';
import { PREFERENCE_KINDS, type Preference, type PreferenceKind } from '../../schema/index.ts';
import { defineStage, type WorkItem } from '../stage.ts';

/**
 * Export through the format adapters of src/io/formats (trl, llamafactory, swift, rlaifv, ...). Each preference
 * of the input is one ledger item (passed through to this stage's out.jsonl, so resume is exact); once all are
 * in, the whole output is written in the target format (temp + rename), media copied beside it, and what the
 * format could not hold is counted in the summary. A `segments` record whose (prompt, chosen, rejected) is also
 * exported as a `pair` would be the same training row twice in a pair-only format, so it is left out there
 * (counted as `duplicateRows`); the mmalign format keeps both (it holds the spans).
 */
const Params = z.strictObject({
  format: z.enum(FORMAT_NAMES as [FormatName, ...FormatName[]]),
  /** output file, relative to the run folder; default export/<stage>.<format ext> */
  out: z.string().optional(),
  media: z.enum(['copy', 'link', 'none']).default('copy'),
  binarize: z.boolean().default(false),
  kinds: z.array(z.enum(PREFERENCE_KINDS as unknown as [PreferenceKind, ...PreferenceKind[]])).optional(),
  datasetName: z.string().optional(),
});

export const exportStage = defineStage({
  description: 'write the preferences in a training format (trl, llamafactory, swift, ...) via src/io/formats',
  output: 'preference',
  needsInput: true,
  params: Params,
  create(p, ctx) {
    const input = ctx.input!;
    const adapter = getFormat(p.format);
    return {
      name: ctx.name,
      type: 'export',
      output: 'preference',
      input,
      fingerprint: p,
      models: [],
      count: (env) => env.countInput(input),
      async *plan(env): AsyncGenerator<WorkItem<Preference>> {
        for await (const rec of env.readInput(input)) {
          const v = rec.value as Preference;
          yield { key: v.id, data: v };
        }
      },
      async run(item) {
        return { ok: true, records: [item.data] };
      },
      async concurrency() {
        return 64;
      },
      async summarize(env, output) {
        let prefs = existsSync(output)
          ? readFileSync(output, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as Preference)
          : [];
        let duplicateRows = 0;
        if (p.format !== 'mmalign') {
          const view = (x: Preference) =>
            x.kind === 'pair' || x.kind === 'segments'
              ? JSON.stringify([
                  x.sampleId,
                  x.chosen.text,
                  x.rejected.text,
                  x.kind === 'pair' ? x.rejectedMedia : undefined,
                ])
              : undefined;
          const pairs = new Set(prefs.filter((x) => x.kind === 'pair').map(view));
          const before = prefs.length;
          prefs = prefs.filter((x) => x.kind !== 'segments' || !pairs.has(view(x)));
          duplicateRows = before - prefs.length;
        }
        const out = path.resolve(env.runDir, p.out ?? `export/${ctx.name}${adapter.defaultExt}`);
        // every adapter holds preferences or any record; the union of their input types needs the widening
        const write = adapter.write as (
          r: Preference[],
          o: string,
          w: Parameters<typeof adapter.write>[2],
        ) => ReturnType<typeof adapter.write>;
        const s = await write(prefs, out, {
          mediaRoot: env.mediaRoot,
          media: p.media,
          binarize: p.binarize,
          ...(p.kinds ? { kinds: p.kinds } : {}),
          ...(p.datasetName ? { datasetName: p.datasetName } : {}),
        });
        return { ...s, duplicateRows };
      },
    };
  },
});
