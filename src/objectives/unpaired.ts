import { tf } from '../nn/tf.ts';
import { defineObjective, mean, nls } from './define.ts';
import { DEFAULT_BETA } from './pairwise.ts';

/**
 * Unpaired objectives: the "chosen" fields hold desirable examples (or accurate segments) and the "rejected" fields
 * undesirable ones (or hallucinated segments); the two lists may differ in length, and either may be empty.
 */

function meanOrNothing(x: tf.Tensor): tf.Tensor | undefined {
  return x.size > 0 ? tf.mean(x) : undefined;
}

function withOptional(metrics: Record<string, tf.Tensor | undefined>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(metrics)) if (v) out[k] = v;
  return out;
}

/**
 * KTO (Ethayarajh et al. 2024, eq. 8) with a given reference point z0 = max(0, `kl`):
 * desirable: λ_D·(1 − σ(β·(log π_θ/π_ref(y) − z0))), undesirable: λ_U·(1 − σ(β·(z0 − log π_θ/π_ref(y)))),
 * averaged over all examples. Checked against TRL `KTOTrainer.kto_loss`; z0 = 0 is TRL with KL estimation off.
 * TRL estimates z0 from mismatched (x, y') pairs per batch: a trainer passes that estimate as `kl`.
 */
export const kto = defineObjective('kto', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const wRatio = tf.sub(f.req('policy_chosen_logps'), f.req('reference_chosen_logps'));
  const lRatio = tf.sub(f.req('policy_rejected_logps'), f.req('reference_rejected_logps'));
  const z0 = Math.max(0, p.kl ?? 0);
  const chosenLosses = tf.mul(p.desirable_weight ?? 1, tf.sub(1, tf.sigmoid(tf.mul(beta, tf.sub(wRatio, z0)))));
  const rejectedLosses = tf.mul(p.undesirable_weight ?? 1, tf.sub(1, tf.sigmoid(tf.mul(beta, tf.sub(z0, lRatio)))));
  const hw = tf.mul(beta, wRatio);
  const hl = tf.mul(beta, lRatio);
  const rc = meanOrNothing(hw);
  const rr = meanOrNothing(hl);
  return {
    loss: mean(tf.concat([chosenLosses, rejectedLosses])),
    metrics: {
      ...withOptional({
        'rewards/chosen': rc,
        'rewards/rejected': rr,
        'rewards/margins': rc && rr ? tf.sub(rc, rr) : undefined,
      }),
      kl: z0,
    },
  };
});

/**
 * Fine-grained DPO (FDPO, Gunjal et al. 2024, M-HalDetect §5) at the segment level: each accurate segment pushes
 * −log σ(h(s)) and each hallucinated segment −log σ(−h(s)), averaged over all segments, h = β·log π_θ/π_ref.
 * The survey's form −[log σ(h_w) − log σ(h_l)] has lost the inner negation (unbounded below); this is the paper's.
 */
export const fdpo = defineObjective('fdpo', (f) => {
  const beta = f.beta(DEFAULT_BETA);
  const hw = tf.mul(beta, tf.sub(f.req('policy_chosen_logps'), f.req('reference_chosen_logps')));
  const hl = tf.mul(beta, tf.sub(f.req('policy_rejected_logps'), f.req('reference_rejected_logps')));
  const rc = meanOrNothing(hw);
  const rr = meanOrNothing(hl);
  return {
    loss: mean(tf.concat([nls(hw), nls(tf.neg(hl))])),
    metrics: withOptional({
      'rewards/chosen': rc,
      'rewards/rejected': rr,
      'rewards/margins': rc && rr ? tf.sub(rc, rr) : undefined,
      'segments/accurate_ok': hw.size > 0 ? tf.mean(tf.cast(tf.greater(hw, 0), 'float32')) : undefined,
      'segments/hallucinated_ok': hl.size > 0 ? tf.mean(tf.cast(tf.less(hl, 0), 'float32')) : undefined,
    }),
  };
});
