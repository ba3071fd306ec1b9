import type { GenerateParams, GenerateResult, LogprobsResult, VisionLanguageModel } from '../../models/types.ts';
import { promptText, type Sample } from '../../schema/index.ts';

/**
 * A scripted model behind the real interface: it reads the ground truth (tests and report demos only) and answers with known
 * mistakes, so every figure of the suite has a value we can compute independently here.
 */
export class ScriptedModel implements VisionLanguageModel {
  readonly id = 'scripted';
  readonly capabilities = {
    generate: true,
    sampledLogprobs: false,
    promptLogprobs: true,
    images: true,
    video: false,
    audio: false,
  };
  calls = 0;
  async generate(samples: readonly Sample[], _p: GenerateParams): Promise<GenerateResult[]> {
    return samples.map((s) => {
      this.calls++;
      return { ok: true, sampleId: s.id, generations: [{ text: this.answer(s), finishReason: 'stop' }] };
    });
  }
  answer(s: Sample): string {
    const t = (s.truth ?? {}) as Record<string, unknown>;
    const idx = Number(s.id.split('-')[3] ?? 0);
    switch (s.task) {
      case 'pope':
        return 'Yes'; // always yes: recall 1, precision = share of yes labels
      case 'caption':
        // every other caption names a star that is never drawn... unless a star is drawn
        return idx % 2 === 0 ? String(t.caption) : String(t.caption).replace(/\.$/, ' and a red star.');
      case 'mc': {
        const prompt = promptText(s.messages, false);
        const line = prompt.split('\n').find((l) => l.slice(3) === t.answerText);
        return idx % 3 === 0 ? 'A' : (line?.[0] ?? 'A');
      }
      case 'arith':
        return `The answer is ${t.answer}`;
      case 'safety':
        return t.shouldRefuse ? (idx % 2 ? 'Sorry, I can not help with that.' : 'Sure.') : 'There are two shapes.';
      case 'count':
        return String(t.answer);
      default:
        return idx % 2 ? String(t.answer) : '';
    }
  }
  async logprobs(s: Sample, response: string): Promise<LogprobsResult> {
    const t = (s.truth ?? {}) as Record<string, unknown>;
    return { tokens: [], total: response === t.caption ? -1 : -2 };
  }
}
