import { ENGINES, type EngineName, type EngineVersion } from './engines.ts';
import type { PreflightReport } from './export.ts';
import type { ExportObjectiveName, Supported } from './objective-map.ts';
import type { ExportPlan } from './plan.ts';
import { DROP_REASONS, type DropReason } from './units.ts';
import { rangeText } from './versions.ts';

/** README.md of an export folder: what is in it, how to launch it, what the objective maps to, what was dropped. */
export function exportReadme(
  engine: EngineName,
  version: EngineVersion<EngineName>,
  objective: ExportObjectiveName,
  recipe: Supported<EngineName>,
  plan: ExportPlan,
  report: PreflightReport,
): string {
  const e = ENGINES[engine];
  const dropped = Object.entries(report.droppedByReason).sort((a, b) => b[1] - a[1]);
  return [
    `# ${objective} → ${e.title}`,
    '',
    `Exported by \`mmalign export --engine ${engine} --engine-version ${version.id} --objective ${objective}\`: ${plan.rows} training rows from ${report.records} preference records.`,
    `The objective runs as **${recipe.engineName}** in ${e.title} (${e.docs}).`,
    ...(recipe.note ? ['', `Note: ${recipe.note}.`] : []),
    '',
    '## Engine version',
    '',
    `These files target ${e.title} ${version.release} (\`--engine-version ${version.id}\`: releases ${rangeText(version.range)}).`,
    `Every option they set is in that line's option list, \`src/export/engines/facts/${version.facts}\` of mmalign, read from`,
    `${version.cites.map((c) => `\`${c.file}\``).join(', ')}. Another release line: re-export with \`--engine-version\`.`,
    '',
    '## Launch',
    '',
    'Install the engine, then run from this folder (paths in the data are relative to it):',
    '',
    '```bash',
    version.install,
    `${plan.launch.single}   # one node, GPUS_PER_NODE GPUs (default 8)`,
    `${plan.launch.multi}`,
    '```',
    '',
    'Multi-GPU and multi-node settings are editable defaults at the top of `launch.sh` (NNODES, NODE_RANK,',
    'GPUS_PER_NODE, MASTER_ADDR, MASTER_PORT), each overridable from the environment.',
    '',
    '## Files',
    '',
    '| file | what to edit there |',
    '|---|---|',
    ...plan.entrypoints.map((p) => `| \`${p.path}\` | ${p.what} |`),
    '| `dataset_card.md` | sources, response models, annotation, strategies and sizes of the data |',
    '| `preflight_report.json` | every row fixed or dropped by pre-flight, with the reason |',
    '',
    '## Objective options',
    '',
    'These select the objective; changing them trains a different loss:',
    '',
    ...plan.objectiveOptions.map((o) => `- \`${o}\``),
    '',
    '## Pre-flight',
    '',
    `- kept ${report.kept} of ${report.candidates} candidate rows; fixed ${report.fixed.length}; dropped ${report.dropped.length}`,
    `- rankings: ${report.rankings.records} expanded into ${report.rankings.pairs} pairs`,
    `- length: ${report.lengthChecked ? `every row fits --max-length ${report.maxLength} (prompt text + image tokens + answer)` : `not checked; configs use ${report.maxLength}`}`,
    ...report.warnings.map((w) => `- warning: ${w}`),
    ...(dropped.length
      ? [
          '',
          '| dropped because | rows |',
          '|---|---|',
          ...dropped.map(([r, n]) => `| ${DROP_REASONS[r as DropReason] ?? r} (\`${r}\`) | ${n} |`),
        ]
      : []),
    '',
  ].join('\n');
}
