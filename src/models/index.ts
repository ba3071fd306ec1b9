export { ModelCapabilityError } from './errors.ts';
export type * from './types.ts';
