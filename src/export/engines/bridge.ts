import { FORMATS, type Row, type ToRowContext } from '../../io/formats/index.ts';
import type { MediaRef, Preference } from '../../schema/index.ts';
import { MmalignError } from '../../util/errors.ts';
import type { ReadyMedia, ReadyUnit } from '../preflight.ts';

/**
 * Pair rows through the io format adapters (src/io/formats), so `mmalign export` and `mmalign convert` write one
 * TRL / LLaMA-Factory / ms-swift row layout, not two. The unit is already pre-flighted: its prompt is all parts with
 * media numbered 0..n-1 in reading order, `media[k]` the file of the k-th placeholder. The adapter's `media` callback
 * returns the export's content-addressed path for each file. The row gets the unit id in front (adapters drop ids).
 */
export async function adapterPairRow(
  format: 'trl' | 'llamafactory' | 'swift',
  u: Extract<ReadyUnit, { kind: 'pair' }>,
  pathOf: (m: ReadyMedia) => string,
): Promise<Row> {
  const files = new Map<MediaRef, ReadyMedia>();
  const refOf = (m: ReadyMedia): MediaRef => {
    const ref = { ...m.ref } as MediaRef;
    files.set(ref, m);
    return ref;
  };
  // Provenance is required by the record type but is not part of any engine row (adapters list it as not held).
  const pref: Preference = {
    kind: 'pair',
    id: u.id,
    sampleId: u.source,
    prompt: u.prompt,
    media: u.media.map(refOf),
    chosen: { text: u.chosen },
    rejected: { text: u.rejected },
    ...(u.margin !== undefined ? { margin: u.margin } : {}),
    ...(u.rejectedMedia ? { rejectedMedia: u.rejectedMedia.map(refOf) } : {}),
    provenance: { source: 'export', createdAt: '1970-01-01T00:00:00Z', annotator: { kind: 'rule', id: 'export' } },
  };
  const ctx: ToRowContext = {
    format,
    options: {},
    container: '.jsonl',
    index: 0,
    media: async (ref) => {
      const m = files.get(ref);
      if (!m) throw new MmalignError('MMALIGN_EXPORT_INTERNAL', `row ${u.id}: adapter asked for an unknown media ref`);
      return pathOf(m);
    },
    mediaBytes: async () => {
      throw new MmalignError('MMALIGN_EXPORT_INTERNAL', 'engine rows never embed media bytes');
    },
  };
  const res = await FORMATS[format].toRow(pref, ctx);
  // Pre-flight checks everything the adapters refuse; a refusal here is a bug in one of the two, not bad data.
  if ('drop' in res)
    throw new MmalignError(
      'MMALIGN_EXPORT_INTERNAL',
      `row ${u.id} passed pre-flight but the ${format} adapter refused it: ${res.drop}`,
    );
  return { id: u.id, ...res.row };
}
