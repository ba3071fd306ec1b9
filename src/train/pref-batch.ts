import { encodeBatch, mm, responseLogprobs, type ScoreItem, tf, type Vlm } from '../nn/index.ts';
import type { ObjectiveBatch, ObjectiveEntry, ObjectiveName } from '../objectives/index.ts';
import { MmalignError } from '../util/errors.ts';
import { type Corruption, corruptImage, type PrefExample, spanTokenWeights } from './pref-data.ts';

/**
 * Turning preference examples into an objective's input: which answers to score under which image ("roles"),
 * the reference log-probs computed once and cached, and the ObjectiveBatch of one training step (policy log-probs
 * carry gradients; reference values are constants).
 *
 * Roles: w = y_w under I, l = y_l under I, wNeg = y_w under I_neg. Paired objectives use the examples that have
 * every role; unpaired ones (kto, fdpo) take the chosen and rejected answers as two independent lists.
 */
export type Role = 'w' | 'l' | 'wNeg';

export interface Plan {
  name: ObjectiveName;
  entry: ObjectiveEntry;
  roles: Role[];
  paired: boolean;
  /** per-token inputs (dense_dpo) */
  tokens: boolean;
  /** segment log-probs over the corrected spans (fdpo) */
  segments: boolean;
  /** γ on corrected tokens (dense_dpo) */
  segmentWeight: number;
}

export function makePlan(name: ObjectiveName, entry: ObjectiveEntry, segmentWeight: number): Plan {
  if (entry.data === 'groups' || entry.data === 'rollouts')
    throw new MmalignError('MMALIGN_BAD_OBJECTIVE', `"${name}" is an online objective`, {
      hint: 'use `mmalign train grpo --objective grpo|rloo` for online training',
    });
  if (name === 'bt')
    throw new MmalignError('MMALIGN_BAD_OBJECTIVE', '"bt" trains a reward model', { hint: 'use `mmalign train rm`' });
  const fields = new Set<string>([...entry.needs, ...entry.optional]);
  const roles: Role[] = [];
  if (fields.has('policy_chosen_logps') || fields.has('policy_chosen_token_logps')) roles.push('w');
  if (fields.has('policy_rejected_logps') || fields.has('policy_rejected_token_logps')) roles.push('l');
  if (fields.has('policy_chosen_logps_corrupt')) roles.push('wNeg');
  return {
    name,
    entry,
    roles,
    paired: !(entry.data === 'unpaired' || name === 'fdpo'),
    tokens: fields.has('policy_chosen_token_logps'),
    segments: name === 'fdpo',
    segmentWeight,
  };
}

/** Examples an objective can train on, and why the others are left out. */
export function usableExamples(plan: Plan, examples: readonly PrefExample[]) {
  const keep: PrefExample[] = [];
  const dropped: Record<string, number> = {};
  for (const e of examples) {
    const ok = plan.paired
      ? plan.roles.every((r) => (r === 'l' ? e.rejected !== null : e.chosen !== null)) &&
        (!plan.roles.includes('wNeg') || e.image !== null || e.imageNeg !== null)
      : e.chosen !== null || e.rejected !== null;
    if (ok) keep.push(e);
    else
      dropped[`${e.kind} lacks what ${plan.name} needs`] =
        (dropped[`${e.kind} lacks what ${plan.name} needs`] ?? 0) + 1;
  }
  return { keep, dropped };
}

export interface Row {
  ex: PrefExample;
  role: Role;
  image: Uint8Array | null;
  response: string;
  /** token weights over the answer (with <eos>), when the plan needs them */
  weights?: number[];
}

export interface ImageSource {
  corruption: Corruption;
  seed: number;
}

function negImage(e: PrefExample, src: ImageSource): Uint8Array | null {
  if (e.imageNeg) return e.imageNeg;
  if (!e.image) return null;
  let h = src.seed >>> 0;
  for (let i = 0; i < e.id.length; i++) h = Math.imul(h ^ e.id.charCodeAt(i), 16777619) >>> 0;
  return corruptImage(e.image, src.corruption, h);
}

function rowWeights(plan: Plan, e: PrefExample, role: Role, text: string): number[] | undefined {
  if (!plan.tokens && !plan.segments) return undefined;
  const spans = role === 'l' ? e.rejectedSpans : e.chosenSpans;
  if (plan.segments) {
    // fdpo: the segment is the corrected spans (the whole answer when the record has none); <eos> excluded
    if (!spans) return undefined;
    return spanTokenWeights(text, spans, 2).map((v) => (v === 2 ? 1 : 0));
  }
  return spanTokenWeights(text, spans ?? [], plan.segmentWeight);
}

/** The rows to score for a batch of examples, in role order: all w rows, then l, then wNeg. */
export function rowsFor(
  plan: Plan,
  batch: readonly PrefExample[],
  src: ImageSource,
): { rows: Row[]; counts: Record<Role, number> } {
  const rows: Row[] = [];
  const counts: Record<Role, number> = { w: 0, l: 0, wNeg: 0 };
  for (const role of plan.roles) {
    for (const e of batch) {
      const text = role === 'l' ? e.rejected : e.chosen;
      if (text === null) continue;
      const image = role === 'wNeg' ? negImage(e, src) : e.image;
      rows.push({ ex: e, role, image, response: text, weights: rowWeights(plan, e, role, text) });
      counts[role]++;
    }
  }
  return { rows, counts };
}

export interface RefEntry {
  w?: number;
  l?: number;
  wNeg?: number;
  /** per answer token (with <eos>) */
  wTok?: number[];
  lTok?: number[];
}

/** Scores rows without gradients; per row the sequence log-prob and the answer-token log-probs. */
export function scoreRows(m: Vlm, rows: readonly Row[], batchSize = 64): { seq: number[]; tok: number[][] } {
  return scoreItems(
    m,
    rows.map((r) => ({ image: r.image, prompt: r.ex.prompt, response: r.response })),
    batchSize,
  );
}

/** `scoreRows` over plain (image, prompt, response) items. */
export function scoreItems(m: Vlm, all: readonly ScoreItem[], batchSize = 64): { seq: number[]; tok: number[][] } {
  const seq: number[] = [];
  const tok: number[][] = [];
  for (let i = 0; i < all.length; i += batchSize) {
    const items = all.slice(i, i + batchSize);
    const out = tf.tidy(() => {
      const s = responseLogprobs(m, items);
      return tf.concat([tf.reshape(s.seqLogps, [-1, 1]), s.tokenLogps], 1);
    });
    const [R, W] = out.shape as [number, number];
    const data = out.dataSync();
    out.dispose();
    const enc = encodeBatch(
      m.tokenizer,
      items.map((it) => ({ prompt: it.prompt, answer: it.response })),
      m.config.maxTextLen,
    );
    for (let r = 0; r < R; r++) {
      seq.push(data[r * W] as number);
      const toks: number[] = [];
      for (let t = 0; t < W - 1; t++) if (enc.answerMask[r * (W - 1) + t]) toks.push(data[r * W + 1 + t] as number);
      tok.push(toks);
    }
  }
  return { seq, tok };
}

export type RowScorer = (
  rows: readonly Row[],
) => { seq: number[]; tok: number[][] } | Promise<{ seq: number[]; tok: number[][] }>;

/** Reference log-probs of every example for the plan's roles, computed with `m` (the frozen initial model). */
export async function referenceEntries(
  plan: Plan,
  m: Vlm,
  examples: readonly PrefExample[],
  src: ImageSource,
  onBatch?: (done: number, total: number) => void,
  /** scores rows (default: scoreRows with `m` on this thread; data-parallel trainers split them across replicas) */
  score: RowScorer = (rows) => scoreRows(m, rows),
): Promise<Map<string, RefEntry>> {
  const out = new Map<string, RefEntry>(examples.map((e) => [e.id, {}]));
  const chunk = 64;
  for (let i = 0; i < examples.length; i += chunk) {
    const { rows } = rowsFor(plan, examples.slice(i, i + chunk), src);
    const { seq, tok } = await score(rows);
    rows.forEach((r, k) => {
      const e = out.get(r.ex.id)!;
      e[r.role] = seq[k];
      if (r.role === 'w') e.wTok = tok[k];
      if (r.role === 'l') e.lTok = tok[k];
    });
    onBatch?.(Math.min(i + chunk, examples.length), examples.length);
  }
  return out;
}

/** Rows × T−1 layout of the answers in a scored batch: mask and weights aligned with `tokenLogps`. */
function layout(m: Vlm, rows: readonly Row[]) {
  const enc = encodeBatch(
    m.tokenizer,
    rows.map((r) => ({ prompt: r.ex.prompt, answer: r.response })),
    m.config.maxTextLen,
  );
  const W = enc.T - 1;
  return { enc, W };
}

function placeTokens(enc: ReturnType<typeof encodeBatch>, W: number, rows: number[], values: (r: number) => number[]) {
  const out = new Float32Array(rows.length * W);
  rows.forEach((r, i) => {
    const v = values(r);
    let k = 0;
    for (let t = 0; t < W; t++) if (enc.answerMask[r * W + t]) out[i * W + t] = v[k++] ?? 0;
  });
  return tf.tensor2d(out, [rows.length, W]);
}

/**
 * The ObjectiveBatch of one step. Call inside the loss closure: policy tensors come from one forward pass over
 * every row, references from the cache (absent for reference-free objectives).
 */
export function stepBatch(
  plan: Plan,
  m: Vlm,
  rows: readonly Row[],
  refs: Map<string, RefEntry> | null,
  beta: number,
  /** the rows' answer-token log-probs [rows, T−1] when already computed (data-parallel steps gather them) */
  tokenLogps?: tf.Tensor,
): { batch: ObjectiveBatch; chosenShift?: tf.Tensor; chosenLogps: tf.Tensor } {
  const s = tokenLogps
    ? { tokenLogps }
    : responseLogprobs(
        m,
        rows.map((r) => ({ image: r.image, prompt: r.ex.prompt, response: r.response })),
      );
  const { enc, W } = layout(m, rows);
  const idx = (role: Role) => rows.flatMap((r, i) => (r.role === role ? [i] : []));
  const batch: ObjectiveBatch = { beta: tf.scalar(beta) };
  const lengths = (ix: number[]) => tf.tensor1d(ix.map((i) => enc.answers[i]!.length));
  const refOf = (ix: number[], key: 'w' | 'l' | 'wNeg') => tf.tensor1d(ix.map((i) => refs!.get(rows[i]!.ex.id)![key]!));
  const weighted = (ix: number[]) => placeTokens(enc, W, ix, (r) => rows[r]!.weights ?? []);
  const roleField = { w: 'chosen', l: 'rejected' } as const;
  let chosenShift: tf.Tensor | undefined;
  let chosenLogps: tf.Tensor = tf.scalar(Number.NaN);
  for (const role of plan.roles) {
    const ix = idx(role);
    if (ix.length === 0) continue;
    // tf.gather has no gradient on wasm: select rows with a one-hot matmul instead
    const sel = tf.tensor2d(
      ix.flatMap((i) => rows.map((_, j) => (j === i ? 1 : 0))),
      [ix.length, rows.length],
    );
    const tokens = mm(sel, s.tokenLogps); // [b, W]
    const seq = tf.sum(tokens, 1);
    if (role === 'wNeg') {
      batch.policy_chosen_logps_corrupt = seq;
      if (refs) batch.reference_chosen_logps_corrupt = refOf(ix, 'wNeg');
      continue;
    }
    const side = roleField[role];
    const refTok = (r: number) => (role === 'w' ? refs!.get(rows[r]!.ex.id)!.wTok! : refs!.get(rows[r]!.ex.id)!.lTok!);
    if (plan.tokens) {
      batch[`policy_${side}_token_logps`] = tokens;
      batch[`${side}_token_weights`] = weighted(ix);
      batch[`${side}_token_mask`] = placeTokens(enc, W, ix, (r) => enc.answers[r]!.map(() => 1));
      if (refs) batch[`reference_${side}_token_logps`] = placeTokens(enc, W, ix, refTok);
    }
    if (plan.segments && ix.some((i) => rows[i]!.weights)) {
      const wts = placeTokens(enc, W, ix, (r) => rows[r]!.weights ?? enc.answers[r]!.map(() => 1));
      batch[`policy_${side}_logps`] = tf.sum(tf.mul(tokens, wts), 1);
      if (refs) batch[`reference_${side}_logps`] = tf.sum(tf.mul(placeTokens(enc, W, ix, refTok), wts), 1);
    } else {
      batch[`policy_${side}_logps`] = seq;
      if (refs) batch[`reference_${side}_logps`] = refOf(ix, role);
    }
    batch[`${side}_lengths`] = lengths(ix);
    if (role === 'w') {
      chosenLogps = tf.mean(seq);
      if (refs) chosenShift = tf.mean(tf.sub(seq, refOf(ix, 'w')));
    }
  }
  if (plan.paired) {
    const exs = rows.filter((r) => r.role === plan.roles[0]).map((r) => r.ex);
    if (exs.every((e) => e.chosenReward !== undefined && e.rejectedReward !== undefined)) {
      batch.chosen_rewards = tf.tensor1d(exs.map((e) => e.chosenReward!));
      batch.rejected_rewards = tf.tensor1d(exs.map((e) => e.rejectedReward!));
    }
    if (exs.every((e) => e.margin !== undefined)) batch.reward_margins = tf.tensor1d(exs.map((e) => e.margin!));
  }
  return { batch, chosenShift, chosenLogps };
}
