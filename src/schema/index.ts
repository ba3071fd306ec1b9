export * from './common.ts';
export { nowIso, promptText } from './helpers.ts';
export * from './records.ts';
export { detectRecordType, parseRecord, preferenceIssues, validateRecord, zodIssues } from './validate.ts';
