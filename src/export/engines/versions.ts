import type { EngineVersionBase } from '../versions.ts';

/**
 * The release lines of each engine the export writes for, newest first (`--engine-version` picks one; the first is
 * the default). Each entry cites the engine files and release its option names come from and names the facts file
 * (./facts/) the export is checked against. Kept free of the writers so the CLI can list the lines in --help.
 */

/** The TRL lines the export writes for (DPOConfig.loss_type a list with loss_weights; KTOTrainer checks its batch). */
export const TRL_VERSIONS = [
  {
    id: '1.9',
    range: { min: '1.9.0', below: '2.0.0' },
    release: 'v1.9.0',
    install: 'pip install trl==1.9.0 accelerate deepspeed datasets pillow pyyaml',
    facts: 'trl-1.9.json',
    cites: [
      { file: 'trl/trainer/dpo_config.py', release: 'v1.9.0' },
      { file: 'trl/trainer/kto_config.py', release: 'v1.9.0' },
      { file: 'trl/trainer/kto_trainer.py', release: 'v1.9.0' },
    ],
  },
] as const satisfies readonly EngineVersionBase[];

/** The LLaMA-Factory lines the export writes for. */
export const LLAMAFACTORY_VERSIONS = [
  {
    id: '0.9.5',
    range: { min: '0.9.5', below: '0.10.0' },
    release: 'v0.9.5',
    install: 'pip install "llamafactory[torch,metrics,deepspeed]==0.9.5"',
    facts: 'llamafactory-0.9.5.json',
    cites: [
      { file: 'src/llamafactory/hparams/finetuning_args.py', release: 'v0.9.5' },
      { file: 'src/llamafactory/hparams/data_args.py', release: 'v0.9.5' },
      { file: 'data/README.md', release: 'v0.9.5' },
    ],
  },
] as const satisfies readonly EngineVersionBase[];

export interface SwiftVersion extends EngineVersionBase {
  /** The option that selects LoRA / full training: renamed from train_type to tuner_type in 4.1.0. */
  tunerFlag: 'tuner_type' | 'train_type';
}

/**
 * The ms-swift lines the export writes for, newest first. 4.x moved the arguments to swift/arguments/ and (from
 * 4.1.0) renamed --train_type to --tuner_type; an unknown argument stops `swift rlhf` (remaining_argv). 3.x from 3.8
 * reads rejected_images.
 */
export const SWIFT_VERSIONS = [
  {
    id: '4',
    range: { min: '4.1.0', below: '5.0.0' },
    release: 'v4.4.3',
    install: 'pip install ms-swift==4.4.3 deepspeed',
    facts: 'swift-4.json',
    cites: [
      { file: 'swift/arguments/rlhf_args.py', release: 'v4.4.3' },
      { file: 'swift/arguments/base_args/base_args.py', release: 'v4.4.3' },
      { file: 'swift/arguments/base_args/template_args.py', release: 'v4.4.3' },
      { file: 'swift/arguments/tuner_args.py', release: 'v4.4.3' },
    ],
    tunerFlag: 'tuner_type',
  },
  {
    id: '3',
    range: { min: '3.8.0', below: '4.0.0' },
    release: 'v3.8 to v3.x',
    install: 'pip install "ms-swift>=3.8,<4" deepspeed',
    facts: 'swift-3.json',
    cites: [{ file: 'docs/source_en/Instruction/Command-line-parameters.md', release: 'v3.x' }],
    tunerFlag: 'train_type',
  },
] as const satisfies readonly SwiftVersion[];

/** The two CLI styles: flat argparse flags (< 0.10) and the dotted groups of 0.10+ (`--model.beta`, `--ds.*`). */
export type OpenRlhfCli = 'flat' | 'dotted';

export interface OpenRlhfVersion extends EngineVersionBase {
  cli: OpenRlhfCli;
}

/**
 * The OpenRLHF lines the export writes for, newest first. 0.10.0 moved every trainer flag into dotted groups and
 * removed train_kto.py (issue #19, read against v0.11.0); the flat line is the argparse of the 0.x releases before.
 */
export const OPENRLHF_VERSIONS = [
  {
    id: '0.11',
    range: { min: '0.10.0', below: '0.12.0' },
    release: 'v0.11.0',
    install: 'pip install openrlhf==0.11.0',
    facts: 'openrlhf-0.11.json',
    cites: [
      { file: 'openrlhf/cli/train_dpo.py', release: 'v0.11.0' },
      { file: 'openrlhf/cli/train_rm.py', release: 'v0.11.0' },
    ],
    cli: 'dotted',
  },
  {
    id: '0.9',
    range: { min: '0.8.0', below: '0.10.0' },
    release: 'before v0.10.0, flat flags',
    install: 'pip install "openrlhf>=0.8,<0.10"',
    facts: 'openrlhf-0.9.json',
    cites: [
      { file: 'openrlhf/cli/train_dpo.py', release: '< v0.10.0 (commit a3be906)' },
      { file: 'openrlhf/cli/train_rm.py', release: '< v0.10.0 (commit bdf7dfa)' },
      { file: 'openrlhf/cli/train_kto.py', release: '< v0.10.0 (commit abb0475)' },
    ],
    cli: 'flat',
  },
] as const satisfies readonly OpenRlhfVersion[];
