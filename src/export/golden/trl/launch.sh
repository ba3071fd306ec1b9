#!/usr/bin/env bash
# mmalign export: TRL DPOTrainer, objective mpo
# Targets TRL v1.9.0, --engine-version 1.9; install: pip install trl==1.9.0 accelerate deepspeed datasets pillow pyyaml
# Cluster settings: edit the defaults here or set them in the environment (multi-node: run this script on
# every node with the same MASTER_ADDR/MASTER_PORT and NODE_RANK = 0..NNODES-1).
set -euo pipefail
cd "$(dirname "$0")"
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
MASTER_PORT="${MASTER_PORT:-29500}"
DIST_CONFIG="${DIST_CONFIG:-accelerate_zero3.yaml}"  # or accelerate_fsdp.yaml

accelerate launch --config_file "$DIST_CONFIG" \
  --num_machines "$NNODES" --machine_rank "$NODE_RANK" \
  --num_processes "$((NNODES * GPUS_PER_NODE))" \
  --main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT" \
  train_trl.py trl_config.yaml
