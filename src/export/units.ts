import type { MediaRef, Message, Preference, PreferenceKind } from '../schema/index.ts';
import type { TrainData } from './objective-map.ts';

/**
 * The rows engines train on, before any engine's field names: a pair (y_w ≻ y_l, optionally with I_neg for the
 * rejected side) or an unpaired answer with a good/bad label (KTO). Each mmalign preference becomes zero or more
 * units; what cannot become one is a drop with a reason, never a silent skip.
 */

interface UnitBase {
  /** Output row id: the preference id, suffixed when one preference yields several rows. */
  id: string;
  /** The preference id it came from. */
  source: string;
  line: number;
  from: PreferenceKind;
  prompt: Message[];
  media: MediaRef[];
}
export interface PairUnit extends UnitBase {
  kind: 'pair';
  chosen: string;
  rejected: string;
  margin?: number;
  /** I_neg for the rejected side (image pairs): aligned index by index with `media`. */
  rejectedMedia?: MediaRef[];
}
export interface BinaryUnit extends UnitBase {
  kind: 'binary';
  completion: string;
  label: boolean;
}
export type Unit = PairUnit | BinaryUnit;

/** How N-way rankings become pairs: the best answer against each worse one, every ordered pair, or not at all. */
export const RANKING_MODES = {
  'best-vs-rest': 'the rank-1 answer(s) against every strictly worse answer',
  'all-pairs': 'every pair of answers with different ranks',
  drop: 'rankings are dropped (reported)',
} as const;
export type RankingMode = keyof typeof RANKING_MODES;

/** Why a record produced no row. Codes are stable: reports and tests key on them. */
export const DROP_REASONS = {
  rubric_needs_pairing:
    'per-aspect scores are not a preference pair; pair them first (mmalign pair) and export the pairs',
  binary_needs_kto: 'a single labelled answer is only trainable with an unpaired objective (kto)',
  image_pair_unsupported: 'the engine has no rejected-image input (only ms-swift has rejected_images)',
  image_pair_needs_image_objective: 'same-answer image pairs are dropped for unpaired (KTO) training',
  not_an_image_pair: 'the objective trains on image pairs (same answer, clean vs corrupted image) only',
  ranking_dropped: '--rankings drop',
  ranking_all_tied: 'every answer has the same rank: no preference to train on',
  media_kind_unsupported: 'the engine cannot read this media kind',
  media_missing: 'a media file does not exist',
  media_unreadable: 'a media file is not a decodable image / does not match its sha256',
  media_index_out_of_range: 'a prompt part points at a media index the record does not have',
  placeholder_count_mismatch: 'text placeholders (<image>…) do not match the number of media files',
  placeholder_kind_mismatch: 'a placeholder of one kind points at media of another kind',
  unreferenced_media: 'some media are referenced by the prompt and some are not: placement is ambiguous',
  placeholder_in_answer: 'an answer contains a literal <image>/<video>/<audio> the engine would count as media',
  rejected_media_mismatch: 'rejected images do not line up with the prompt images (count or kind)',
  empty_answer: 'chosen, rejected or the answer is empty',
  identical_answers: 'chosen == rejected with the same media: the pair has no signal',
  prompt_not_user_last: 'the prompt does not end with a user turn',
  prompt_turns_not_alternating: 'after an optional leading system turn, turns must alternate user/assistant',
  prompt_too_long: 'prompt + image tokens exceed --max-length: truncation would cut image tokens',
  too_long: 'prompt + image tokens + answer exceed --max-length: the engine would truncate this row',
  image_too_small: "the model's image processor refuses this image size",
} as const;
export type DropReason = keyof typeof DROP_REASONS;

export interface Drop {
  id: string;
  source: string;
  line: number;
  reason: DropReason;
  detail: string;
}

export interface UnitsResult {
  units: Unit[];
  drops: Drop[];
  /** Rankings turned into pairs: how many rankings, how many pairs. */
  rankings: { records: number; pairs: number };
}

const drop = (p: Preference, line: number, reason: DropReason, detail = DROP_REASONS[reason]): Drop => ({
  id: p.id,
  source: p.id,
  line,
  reason,
  detail,
});

/** Pairs (i ≻ j) of a ranking under a mode; rank 1 is best, equal ranks are ties and never paired. */
export function rankingPairs(ranks: readonly number[], mode: RankingMode): [number, number][] {
  const out: [number, number][] = [];
  if (mode === 'drop') return out;
  const best = Math.min(...ranks);
  for (let i = 0; i < ranks.length; i++) {
    if (mode === 'best-vs-rest' && ranks[i] !== best) continue;
    for (let j = 0; j < ranks.length; j++) if (ranks[i] < ranks[j]) out.push([i, j]);
  }
  return out;
}

function base(p: Preference, line: number, id = p.id): UnitBase {
  return { id, source: p.id, line, from: p.kind, prompt: p.prompt, media: p.media };
}

/** Preference pairs as units (before unpairing), or the drop that explains why there are none. */
function toPairs(p: Preference, line: number, rankings: RankingMode, acc: UnitsResult): PairUnit[] | Drop {
  switch (p.kind) {
    case 'pair':
      return [
        {
          ...base(p, line),
          kind: 'pair',
          chosen: p.chosen.text,
          rejected: p.rejected.text,
          margin: p.margin,
          rejectedMedia: p.rejectedMedia,
        },
      ];
    case 'segments':
      // RLHF-V: the corrected text is preferred to the original; the span weights have no engine equivalent.
      return [{ ...base(p, line), kind: 'pair', chosen: p.chosen.text, rejected: p.rejected.text }];
    case 'image_pair':
      return [
        {
          ...base(p, line),
          kind: 'pair',
          chosen: p.response.text,
          rejected: p.response.text,
          rejectedMedia: p.rejectedMedia,
        },
      ];
    case 'ranking': {
      if (rankings === 'drop') return drop(p, line, 'ranking_dropped');
      const pairs = rankingPairs(p.ranks, rankings);
      if (!pairs.length) return drop(p, line, 'ranking_all_tied');
      acc.rankings.records++;
      acc.rankings.pairs += pairs.length;
      return pairs.map(([w, l]) => ({
        ...base(p, line, `${p.id}#${w}>${l}`),
        kind: 'pair' as const,
        chosen: p.responses[w].text,
        rejected: p.responses[l].text,
      }));
    }
    case 'rubric':
      return drop(p, line, 'rubric_needs_pairing');
    case 'binary':
      return drop(p, line, 'binary_needs_kto');
  }
}

/**
 * Turn preferences into the units a recipe trains on. `pairs`/`sft`: pairs (rankings expanded, segments as their
 * corrected/original pair, image pairs as same-answer pairs with rejected media); `image_pairs`: image pairs only;
 * `unpaired`: binary rows, and every pair split into a desirable and an undesirable row (TRL's unpairing).
 */
export function toUnits(
  records: readonly { line: number; value: Preference }[],
  data: TrainData,
  rankings: RankingMode,
): UnitsResult {
  const acc: UnitsResult = { units: [], drops: [], rankings: { records: 0, pairs: 0 } };
  for (const { line, value: p } of records) {
    if (data === 'unpaired') {
      if (p.kind === 'binary') {
        acc.units.push({ ...base(p, line), kind: 'binary', completion: p.response.text, label: p.label });
        continue;
      }
      if (p.kind === 'image_pair') {
        acc.drops.push(drop(p, line, 'image_pair_needs_image_objective'));
        continue;
      }
      if (p.kind === 'ranking') {
        // Unpaired: the best-ranked answers are desirable, every other answer undesirable (ties at the top stay good).
        if (rankings === 'drop') {
          acc.drops.push(drop(p, line, 'ranking_dropped'));
          continue;
        }
        const best = Math.min(...p.ranks);
        if (p.ranks.every((r) => r === best)) {
          acc.drops.push(drop(p, line, 'ranking_all_tied'));
          continue;
        }
        acc.rankings.records++;
        p.responses.forEach((r, i) => {
          acc.units.push({
            ...base(p, line, `${p.id}#${i}`),
            kind: 'binary',
            completion: r.text,
            label: p.ranks[i] === best,
          });
        });
        continue;
      }
      const pairs = toPairs(p, line, rankings, acc);
      if (!Array.isArray(pairs)) {
        acc.drops.push(pairs);
        continue;
      }
      for (const u of pairs) {
        if (u.rejectedMedia) {
          acc.drops.push(drop(p, line, 'image_pair_needs_image_objective'));
          continue;
        }
        if (u.chosen.trim() === u.rejected.trim()) {
          // Unpaired, the two rows would teach the same answer as good and as bad.
          acc.drops.push({ ...drop(p, line, 'identical_answers'), id: u.id });
          continue;
        }
        const { rejectedMedia: _, chosen, rejected, margin: __, ...rest } = u;
        acc.units.push({ ...rest, id: `${p.id}#chosen`, kind: 'binary', completion: chosen, label: true });
        acc.units.push({ ...rest, id: `${p.id}#rejected`, kind: 'binary', completion: rejected, label: false });
      }
      continue;
    }
    // Image DPO contrasts one answer under I and I_neg; a pair whose answers differ too is another objective (AdPO).
    const sameAnswerPair = p.kind === 'pair' && p.rejectedMedia && p.chosen.text.trim() === p.rejected.text.trim();
    if (data === 'image_pairs' && p.kind !== 'image_pair' && !sameAnswerPair) {
      acc.drops.push(drop(p, line, 'not_an_image_pair'));
      continue;
    }
    const pairs = toPairs(p, line, rankings, acc);
    if (Array.isArray(pairs)) acc.units.push(...pairs);
    else acc.drops.push(pairs);
  }
  return acc;
}
