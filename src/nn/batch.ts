import { BOS, EOS, PAD, SEP, type WordTokenizer } from './tokenizer.ts';

/**
 * Text layout of one example: <bos> prompt <sep> answer <eos>, padded at the end with <pad> (padding after the
 * last real token never changes earlier positions under causal attention). The answer mask marks which
 * next-token predictions belong to the answer (its words and <eos>), i.e. which of tokenLogprobs' T−1 outputs count.
 */
export interface TextItem {
  prompt: string;
  /** omitted for generation: the sequence then ends with <sep> */
  answer?: string;
}

export interface EncodedBatch {
  B: number;
  /** T, the padded length */
  T: number;
  /** [B, T] token ids */
  ids: Int32Array;
  /** [B, T−1]: 1 where target ids[b, t+1] is an answer token */
  answerMask: Float32Array;
  /** answer token ids of each row (with <eos> unless truncated), in order */
  answers: number[][];
  /** rows whose prompt or answer had to be cut to fit maxTextLen */
  truncated: number;
  /** non-pad tokens of each row */
  lengths: number[];
}

/** One row's ids and where its answer starts. Prompts keep their last words when cut; answers lose their tail. */
export function encodeItem(
  tok: WordTokenizer,
  item: TextItem,
  maxLen: number,
): { ids: number[]; answerStart: number; truncated: boolean } {
  let prompt = tok.encode(item.prompt);
  let truncated = false;
  const answerRoom = item.answer === undefined ? 0 : 2;
  if (prompt.length + 2 + answerRoom > maxLen) {
    prompt = prompt.slice(prompt.length - Math.max(0, maxLen - 2 - answerRoom));
    truncated = true;
  }
  const ids = [BOS, ...prompt, SEP];
  const answerStart = ids.length;
  if (item.answer !== undefined) {
    const ans = [...tok.encode(item.answer), EOS];
    const room = maxLen - ids.length;
    if (ans.length > room) truncated = true;
    ids.push(...ans.slice(0, room));
  }
  return { ids, answerStart, truncated };
}

export function encodeBatch(tok: WordTokenizer, items: readonly TextItem[], maxLen: number): EncodedBatch {
  const rows = items.map((it) => encodeItem(tok, it, maxLen));
  const B = rows.length;
  const T = Math.max(2, ...rows.map((r) => r.ids.length));
  const ids = new Int32Array(B * T).fill(PAD);
  const answerMask = new Float32Array(B * (T - 1));
  const answers: number[][] = [];
  rows.forEach((r, b) => {
    ids.set(r.ids, b * T);
    for (let t = r.answerStart; t < r.ids.length; t++) answerMask[b * (T - 1) + t - 1] = 1;
    answers.push(r.ids.slice(r.answerStart));
  });
  return {
    B,
    T,
    ids,
    answerMask,
    answers,
    truncated: rows.filter((r) => r.truncated).length,
    lengths: rows.map((r) => r.ids.length),
  };
}
