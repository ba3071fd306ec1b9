#!/usr/bin/env bash
# mmalign export: LLaMA-Factory stage dpo, objective mpo
# Targets LLaMA-Factory v0.9.5, --engine-version 0.9.5; install: pip install "llamafactory[torch,metrics,deepspeed]==0.9.5"
# Cluster settings: edit the defaults here or set them in the environment (multi-node: run this script on
# every node with the same MASTER_ADDR/MASTER_PORT and NODE_RANK = 0..NNODES-1).
set -euo pipefail
cd "$(dirname "$0")"
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
MASTER_PORT="${MASTER_PORT:-29500}"

# FORCE_TORCHRUN makes llamafactory-cli start torchrun with the node settings below (DeepSpeed ZeRO-3 from
# ds_z3_config.json, named in the YAML).
FORCE_TORCHRUN=1 NNODES="$NNODES" NODE_RANK="$NODE_RANK" NPROC_PER_NODE="$GPUS_PER_NODE" \
  MASTER_ADDR="$MASTER_ADDR" MASTER_PORT="$MASTER_PORT" \
  llamafactory-cli train llamafactory_train.yaml
