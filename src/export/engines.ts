import { LLAMAFACTORY_VERSIONS, OPENRLHF_VERSIONS, SWIFT_VERSIONS, TRL_VERSIONS } from './engines/versions.ts';
import { pickVersion } from './versions.ts';

/**
 * The training engines mmalign hands data to: their docs, the media they read, and the release lines the export
 * writes for (newest first; `--engine-version` picks one). What each line accepts — every option name and legal
 * value, with the engine file, release and commit it was read from — is the data file the line names
 * (src/export/engines/facts/); src/export/facts.test.ts holds every export against it.
 */
export const ENGINES = {
  trl: {
    title: 'TRL (Hugging Face)',
    docs: 'https://huggingface.co/docs/trl/dpo_trainer',
    media: { image: true, video: false, audio: false, rejectedImages: false },
    versions: TRL_VERSIONS,
  },
  llamafactory: {
    title: 'LLaMA-Factory',
    docs: 'https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md',
    media: { image: true, video: true, audio: true, rejectedImages: false },
    versions: LLAMAFACTORY_VERSIONS,
  },
  swift: {
    title: 'ms-swift (ModelScope)',
    docs: 'https://swift.readthedocs.io/en/latest/Customization/Custom-dataset.html',
    media: { image: true, video: true, audio: true, rejectedImages: true },
    versions: SWIFT_VERSIONS,
  },
  openrlhf: {
    title: 'OpenRLHF',
    docs: 'https://openrlhf.readthedocs.io/en/latest/non_rl.html',
    // train_dpo / train_rm (/ train_kto) read text only (no image key in their argparse); media rows are dropped.
    media: { image: false, video: false, audio: false, rejectedImages: false },
    versions: OPENRLHF_VERSIONS,
  },
} as const;

export type EngineName = keyof typeof ENGINES;
export const ENGINE_NAMES = Object.keys(ENGINES) as EngineName[];
export type MediaKind = 'image' | 'video' | 'audio';

/** One release line of an engine (its table entry). */
export type EngineVersion<E extends EngineName> = (typeof ENGINES)[E]['versions'][number];
/** The `--engine-version` ids of an engine. */
export type VersionId<E extends EngineName> = EngineVersion<E>['id'];

/** The release line `requested` names (an id or a release inside one), or the newest when omitted. */
export function resolveEngineVersion<E extends EngineName>(engine: E, requested?: string): EngineVersion<E> {
  const table = ENGINES[engine].versions as readonly EngineVersion<E>[];
  return pickVersion(engine, table, requested);
}

/** The version ids of an engine, newest first. */
export function versionIds<E extends EngineName>(engine: E): VersionId<E>[] {
  return (ENGINES[engine].versions as readonly EngineVersion<E>[]).map((v) => v.id as VersionId<E>);
}
