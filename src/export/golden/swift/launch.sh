#!/usr/bin/env bash
# mmalign export: ms-swift rlhf_type dpo, objective mpo
# Targets ms-swift v4.4.3, --engine-version 4; install: pip install ms-swift==4.4.3 deepspeed
# Cluster settings: edit the defaults here or set them in the environment (multi-node: run this script on
# every node with the same MASTER_ADDR/MASTER_PORT and NODE_RANK = 0..NNODES-1).
set -euo pipefail
cd "$(dirname "$0")"
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
MASTER_PORT="${MASTER_PORT:-29500}"

# ms-swift reads the node settings from these variables (torchrun under the hood); --deepspeed zero3 shards
# the model over all GPUs (zero2 or removing it gives plain DDP).
NNODES="$NNODES" NODE_RANK="$NODE_RANK" NPROC_PER_NODE="$GPUS_PER_NODE" \
MASTER_ADDR="$MASTER_ADDR" MASTER_PORT="$MASTER_PORT" \
swift rlhf \
  --rlhf_type dpo \
  --model Qwen/Qwen2-VL-2B-Instruct \
  --dataset data/train.jsonl \
  --loss_type sigmoid bco_pair sft \
  --loss_weights 0.8 0.2 1 \
  --beta 0.1 \
  --tuner_type lora \
  --lora_rank 8 \
  --lora_alpha 32 \
  --target_modules all-linear \
  --freeze_vit true \
  --torch_dtype bfloat16 \
  --num_train_epochs 1 \
  --per_device_train_batch_size 1 \
  --gradient_accumulation_steps 8 \
  --learning_rate 5e-7 \
  --warmup_ratio 0.1 \
  --max_length 4096 \
  --truncation_strategy delete \
  --logging_steps 10 \
  --save_steps 500 \
  --save_total_limit 2 \
  --deepspeed zero3 \
  --dataloader_num_workers 4 \
  --dataset_num_proc 4 \
  --output_dir output
