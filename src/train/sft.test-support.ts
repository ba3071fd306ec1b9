import type { SftExample } from './data.ts';
import type { SftConfigInput } from './sft.ts';

/**
 * A toy SFT task for trainer tests: 16 px squares of one colour, asked "Is it red?" or "Describe the image.",
 * and a config small enough for tens of steps per second.
 */
export const TINY_SFT: SftConfigInput = {
  model: {
    imageSize: 16,
    patchSize: 4,
    mergeSize: 2,
    dModel: 16,
    nHeads: 2,
    encLayers: 1,
    decLayers: 1,
    maxTextLen: 16,
  },
  steps: 12,
  batchSize: 4,
  optim: { lr: 1e-2, warmupSteps: 2 },
  evalEvery: 6,
  checkpointEvery: 4,
  lengthWindow: 2,
};

export function squareImage(r: number, g: number, b: number): Uint8Array {
  return Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => [r, g, b][i % 3] as number);
}

/**
 * n examples alternating red / blue squares; every third is a yes/no question. With `longAnswers`, a third of
 * the descriptions get a longer answer, so batches mix three lengths.
 */
export function squareExamples(n: number, longAnswers = false): SftExample[] {
  return Array.from({ length: n }, (_, i) => {
    const red = i % 2 === 0;
    const kind = i % 3;
    const describe = longAnswers && kind === 2 ? 'a square, big.' : `a ${red ? 'red' : 'blue'} square.`;
    return {
      id: `ex${i}`,
      image: red ? squareImage(220, 40, 40) : squareImage(50, 90, 235),
      prompt: kind === 0 ? 'Is it red?' : 'Describe the image.',
      answer: kind === 0 ? (red ? 'yes' : 'no') : describe,
    };
  });
}
