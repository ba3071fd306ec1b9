#!/usr/bin/env bash
# mmalign export: OpenRLHF train_dpo, objective ipo
# Targets OpenRLHF v0.11.0, --engine-version 0.11; install: pip install openrlhf==0.11.0
# Cluster settings: edit the defaults here or set them in the environment (multi-node: run this script on
# every node with the same MASTER_ADDR/MASTER_PORT and NODE_RANK = 0..NNODES-1).
set -euo pipefail
cd "$(dirname "$0")"
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
MASTER_PORT="${MASTER_PORT:-29500}"
HOSTFILE="${HOSTFILE:-hostfile}"  # multi-node: one "host slots=N" line per node

# DeepSpeed launcher: one node uses --num_gpus; several nodes read the hostfile (run on node 0 only).
if [ "$NNODES" -gt 1 ]; then
  LAUNCH=(deepspeed --hostfile "$HOSTFILE" --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT")
else
  LAUNCH=(deepspeed --num_gpus "$GPUS_PER_NODE" --master_port "$MASTER_PORT")
fi
"${LAUNCH[@]}" --module openrlhf.cli.train_dpo \
  --model.model_name_or_path Qwen/Qwen2-VL-2B-Instruct \
  --data.dataset data/train.jsonl \
  --data.apply_chat_template \
  --data.prompt_key prompt \
  --data.chosen_key chosen \
  --data.rejected_key rejected \
  --model.beta 0.1 \
  --model.ipo_enable \
  --data.max_len 4096 \
  --ds.zero_stage 3 \
  --ds.param_dtype bf16 \
  --ds.attn_implementation flash_attention_2 \
  --model.gradient_checkpointing_enable \
  --train.batch_size 64 \
  --train.micro_batch_size 1 \
  --adam.lr 5e-7 \
  --train.max_epochs 1 \
  --logger.logging_steps 1 \
  --ckpt.save_steps -1 \
  --eval.steps -1 \
  --ckpt.output_dir output
