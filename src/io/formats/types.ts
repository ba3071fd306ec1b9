import type {
  ImageRef,
  MediaRef,
  Preference,
  PreferenceKind,
  Provenance,
  Response,
  Sample,
} from '../../schema/index.ts';
import type { ValidationIssue } from '../../util/errors.ts';
import type { ParquetColumn } from '../parquet.ts';

/** What a format's rows hold: preference records, samples (SFT / prompts), or any record family (mmalign itself). */
export type Holds = 'preference' | 'sample' | 'any';
export type AnyRecord = Preference | Sample | Response;
export type RecordOf<H extends Holds> = H extends 'preference' ? Preference : H extends 'sample' ? Sample : AnyRecord;

/** A plain JSON-ish row of a foreign format (one JSONL line / one JSON array item / one parquet row). */
export type Row = Record<string, unknown>;

/** How many records (scope `record`) or fields of written records (scope `field`) could not be held, and why. */
export interface DropCount {
  reason: string;
  count: number;
  scope: 'record' | 'field';
  /** For drops caused by a bad record (missing media file...): the first such record's message, with its index. */
  example?: string;
}

export interface WriteSummary {
  format: string;
  /** The data file written. */
  out: string;
  written: number;
  dropped: DropCount[];
  /** Every file written besides media (data file, dataset_info.json, ...). */
  files: string[];
  /** Distinct media files copied or linked into the output. */
  mediaFiles: number;
}

export interface WriteOptions {
  /** Directory the records' relative media paths resolve against. Default: the current directory. */
  mediaRoot?: string;
  /**
   * `copy` (default) / `link` (hard link, copy when across filesystems) the media into `<out dir>/media/ab/<sha>.<ext>`,
   * or `none`: write paths to the existing files, relative to the output directory.
   */
  media?: 'copy' | 'link' | 'none';
  /**
   * Turn rankings and rubric scores into best-vs-worst pairs where the target holds pairs only. Off by default:
   * binarising throws information away, so it must be asked for.
   */
  binarize?: boolean;
  /** Rubric aspect that orders responses when binarising (default: the mean over the aspects each response has). */
  rubricAspect?: string;
  /** Write only these preference kinds (others are counted as dropped). */
  kinds?: readonly PreferenceKind[];
  /** Parquet outputs of formats that can embed images (mmalign, rlaifv): store the image bytes in the file. */
  embedMedia?: boolean;
  /** Name of the dataset entry for formats with a registry file (LLaMA-Factory `dataset_info.json`). */
  datasetName?: string;
}

export interface ReadOptions {
  /** Directory relative media paths resolve against. Default: the input file's directory (or cwd for rows). */
  mediaRoot?: string;
  /** Read each referenced media file to fill sha256/width/height (and report missing files). Default true. */
  hashMedia?: boolean;
  /** Provenance for imported records (foreign formats carry none); merged over the format's defaults. */
  provenance?: Partial<Provenance>;
  /** Name used for `file` in issues when reading rows rather than a file. */
  sourceName?: string;
}

export type ReadItem<R> = { ok: true; line: number; record: R } | { ok: false; line?: number; issue: ValidationIssue };

/** Thrown inside `toRow` / `fromRow` helpers to report one bad field of the current row. */
export class RowError extends Error {
  readonly path: string;
  readonly code: string;
  constructor(path: string, message: string, code = 'bad_field') {
    super(message);
    this.path = path;
    this.code = code;
  }
}

export interface ToRowContext {
  readonly format: string;
  readonly options: WriteOptions;
  /** The container being written: formats that embed image bytes do so only in parquet. */
  readonly container: '.jsonl' | '.json' | '.parquet';
  /** 0-based index of the record in the input stream. */
  readonly index: number;
  /** Place a media file in the output and return the path string the row should hold. */
  media(ref: MediaRef, field: string): Promise<string>;
  /** Bytes of a media file (for formats that embed images). */
  mediaBytes(ref: MediaRef, field: string): Promise<Uint8Array>;
}

/** `row` to write, or `drop` (a reason) when the record cannot be represented; `lost` names fields not held. */
export type ToRowResult = { row: Row; lost?: string[] } | { drop: string };

export interface FromRowContext {
  readonly format: string;
  readonly line: number;
  /** Import a media path held by the row (hashes it unless hashMedia is false). */
  media(p: string, field: string, kind?: MediaRef['kind']): Promise<MediaRef>;
  /** Import embedded image bytes (stored content-addressed under the media root). */
  imageBytes(bytes: Uint8Array, field: string): Promise<ImageRef>;
  /** Write embedded bytes back to a ref's own path under the media root (kept if already there with the same sha). */
  restore(ref: MediaRef, bytes: Uint8Array, field: string): Promise<void>;
  /** Provenance for an imported record. */
  provenance(extra?: Partial<Provenance>): Provenance;
  /** A stable id for rows that carry none. */
  fallbackId(): string;
}

/** One format of the field: how one of our records becomes one row, and back. */
export interface FormatSpec<H extends Holds = Holds> {
  description: string;
  holds: H;
  /** Container written when the output name has no known extension. */
  defaultExt: '.jsonl' | '.json' | '.parquet';
  /** Containers this format can be written to. */
  writes: readonly ('.jsonl' | '.json' | '.parquet')[];
  toRow(record: RecordOf<H>, ctx: ToRowContext): Promise<ToRowResult>;
  fromRow(row: unknown, ctx: FromRowContext): Promise<RecordOf<H>>;
  /** Column layout for parquet output (required when `writes` includes .parquet: columns precede the rows). */
  parquetColumns?: readonly ParquetColumn[];
  /** Extra files written next to the data file once all rows are written (e.g. dataset_info.json). */
  finish?(out: string, summary: WriteSummary, options: WriteOptions): Promise<string[]>;
}
