import type { Preference } from '../schema/index.ts';

/**
 * dataset_card.md from the records' provenance: the survey's dataset factors (§4: data source, response model,
 * annotation; Table 2's size, and the negative-construction strategy), plus agreement statistics when the records
 * carry them (`provenance.extra` keys naming agreement / kappa / alpha, e.g. from the judges' calibration).
 */

export interface CardFacts {
  title: string;
  engine: string;
  objective: string;
  model: string;
  records: readonly Preference[];
  rows: number;
  dropped: Record<string, number>;
  fixed: number;
  rankings: { records: number; pairs: number };
}

function counts(values: Iterable<string | undefined>): [string, number][] {
  const m = new Map<string, number>();
  for (const v of values) if (v !== undefined && v !== '') m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function table(head: [string, string], rows: [string, number | string][]): string[] {
  if (!rows.length) return ['_none recorded_'];
  return [`| ${head[0]} | ${head[1]} |`, '|---|---|', ...rows.map(([k, v]) => `| ${k.replace(/\|/g, '\\|')} | ${v} |`)];
}

const AGREEMENT_KEY = /agree|kappa|alpha/i;

/** Numeric agreement statistics found in provenance.extra, summarised per key. */
export function agreementStats(
  records: readonly Preference[],
): { key: string; n: number; mean: number; min: number; max: number }[] {
  const by = new Map<string, number[]>();
  for (const r of records)
    for (const [k, v] of Object.entries(r.provenance.extra ?? {}))
      if (AGREEMENT_KEY.test(k) && typeof v === 'number' && Number.isFinite(v)) by.set(k, [...(by.get(k) ?? []), v]);
  return [...by]
    .map(([key, xs]) => ({
      key,
      n: xs.length,
      mean: xs.reduce((a, b) => a + b, 0) / xs.length,
      min: Math.min(...xs),
      max: Math.max(...xs),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

function answers(p: Preference) {
  switch (p.kind) {
    case 'pair':
    case 'segments':
      return [p.chosen, p.rejected];
    case 'image_pair':
    case 'binary':
      return [p.response];
    case 'ranking':
    case 'rubric':
      return p.responses;
  }
}

export function datasetCard(f: CardFacts): string {
  const rs = f.records;
  const models = counts(rs.flatMap((r) => answers(r).map((a) => a.model ?? '(not recorded)')));
  const declared = counts(rs.flatMap((r) => r.provenance.responseModels ?? []));
  const media = rs.flatMap((r) => [...r.media, ...('rejectedMedia' in r ? (r.rejectedMedia ?? []) : [])]);
  const uniqueMedia = new Set(media.map((m) => m.sha256 ?? m.path)).size;
  const dates = rs.map((r) => r.provenance.createdAt).sort();
  const agreement = agreementStats(rs);
  const totalDropped = Object.values(f.dropped).reduce((a, b) => a + b, 0);
  const lines = [
    `# ${f.title}`,
    '',
    `Exported by mmalign for **${f.engine}**, objective **${f.objective}**, model \`${f.model}\`.`,
    '',
    '## Size',
    '',
    ...table(
      ['', 'count'],
      [
        ['input preference records', rs.length],
        ['rows written', f.rows],
        ['rows fixed by pre-flight', f.fixed],
        ['rows dropped by pre-flight', totalDropped],
        ['rankings expanded', `${f.rankings.records} → ${f.rankings.pairs} pairs`],
        ['media references (unique files)', `${media.length} (${uniqueMedia})`],
      ],
    ),
    '',
    '### Records by preference kind',
    '',
    ...table(['kind', 'records'], counts(rs.map((r) => r.kind))),
    '',
    '### Dropped rows by reason',
    '',
    ...table(
      ['reason', 'rows'],
      Object.entries(f.dropped).sort((a, b) => b[1] - a[1]),
    ),
    '',
    '## Data sources',
    '',
    ...table(['source', 'records'], counts(rs.map((r) => r.provenance.source))),
    '',
    '## Response models',
    '',
    ...table(['model', 'answers'], models),
    '',
    ...table(['declared in provenance.responseModels', 'records'], declared),
    '',
    '### Sampling policy',
    '',
    ...table(['policy', 'records'], counts(rs.map((r) => r.provenance.policy))),
    '',
    '## Annotation',
    '',
    ...table(['annotator kind', 'records'], counts(rs.map((r) => r.provenance.annotator.kind))),
    '',
    ...table(
      ['annotator', 'records'],
      counts(rs.map((r) => `${r.provenance.annotator.kind}:${r.provenance.annotator.id}`)),
    ),
    '',
    '## Negative-construction strategies',
    '',
    ...table(['strategy', 'records'], counts(rs.map((r) => r.provenance.strategy))),
    '',
    '## Agreement statistics',
    '',
    ...(agreement.length
      ? [
          '| statistic | records | mean | min | max |',
          '|---|---|---|---|---|',
          ...agreement.map(
            (a) => `| ${a.key} | ${a.n} | ${a.mean.toFixed(4)} | ${a.min.toFixed(4)} | ${a.max.toFixed(4)} |`,
          ),
        ]
      : ['_none recorded in provenance.extra_']),
    '',
    '## Provenance span',
    '',
    ...table(
      ['', ''],
      [
        ['first createdAt', dates[0] ?? '—'],
        ['last createdAt', dates[dates.length - 1] ?? '—'],
        [
          'runs',
          counts(rs.map((r) => r.provenance.run))
            .map(([k]) => k)
            .join(', ') || '—',
        ],
      ],
    ),
    '',
  ];
  return lines.join('\n');
}
