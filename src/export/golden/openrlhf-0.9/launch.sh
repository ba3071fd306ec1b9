#!/usr/bin/env bash
# mmalign export: OpenRLHF train_dpo, objective ipo
# Targets OpenRLHF before v0.10.0, flat flags, --engine-version 0.9; install: pip install "openrlhf>=0.8,<0.10"
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
  --pretrain Qwen/Qwen2-VL-2B-Instruct \
  --dataset data/train.jsonl \
  --apply_chat_template \
  --prompt_key prompt \
  --chosen_key chosen \
  --rejected_key rejected \
  --beta 0.1 \
  --ipo \
  --max_len 4096 \
  --zero_stage 3 \
  --bf16 \
  --gradient_checkpointing \
  --train_batch_size 64 \
  --micro_train_batch_size 1 \
  --learning_rate 5e-7 \
  --max_epochs 1 \
  --logging_steps 1 \
  --save_steps -1 \
  --eval_steps -1 \
  --save_path output
