import { MmalignError } from '../util/errors.ts';
import type { Capabilities } from './types.ts';

export class ModelCapabilityError extends MmalignError {
  constructor(model: string, capability: keyof Capabilities, hint?: string) {
    super('MMALIGN_MODEL_CAPABILITY', `model "${model}" does not support ${capability}`, { hint });
    this.name = 'ModelCapabilityError';
  }
}
