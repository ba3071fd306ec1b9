export {
  atomicOutput,
  atomicOutputDir,
  atomicWriteFile,
  removeOpenTempFiles,
  removeOrphanedTemps,
  tempPathFor,
} from './atomic.ts';
export * from './formats/index.ts';
export {
  countJsonlLines,
  type JsonlEntry,
  JsonlWriter,
  type JsonlWriterOptions,
  readJsonArray,
  readJsonl,
  readJsonlRecords,
  readJsonlValues,
  writeJsonl,
} from './jsonl.ts';
export {
  detectImage,
  IMAGE_FORMATS,
  type ImageFormat,
  type ImageInfo,
  MediaStore,
  mediaFields,
  mediaPath,
  resolveMedia,
  sha256Hex,
  type VerifyOptions,
  verifyMedia,
} from './media.ts';
export {
  countRows,
  type ParquetColumn,
  type ParquetColumnType,
  parquetRowCount,
  readParquetRows,
  recordColumns,
  type WriteParquetOptions,
  writeParquetRows,
} from './parquet.ts';
export { assertTextFile, notTextReason } from './text-safety.ts';
export { type ValidateFileOptions, type ValidateFileResult, validateFile } from './validate.ts';
