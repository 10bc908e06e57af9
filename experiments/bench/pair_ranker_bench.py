#!/usr/bin/env python3
"""PairRanker CPU throughput in PyTorch: transformers' DebertaV2Model + the reference's PairRanker head
(Dropout -> Linear(2H->H) -> Tanh -> Dropout -> Linear(H->T), pooled at the three marker positions), on the
configuration in pair_ranker_config.json (the same one crates/ranker-models/benches/pair_ranker.rs reads).

Reports forward-only (eval, inference_mode) and forward+backward (train mode, instructgpt loss) pairs/s.
Run with the same thread count as the Rust side, e.g.:
    RAYON_NUM_THREADS=4 BENCH_ITERS=10 cargo bench -p ranker-models --bench pair_ranker
    python3 experiments/bench/pair_ranker_bench.py --threads 4 --iters 10
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn as nn
from transformers import DebertaV2Config, DebertaV2Model


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=here / "pair_ranker_config.json")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("RAYON_NUM_THREADS", os.cpu_count())))
    parser.add_argument("--iters", type=int, default=int(os.environ.get("BENCH_ITERS", 5)))
    parser.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", 1)))
    args = parser.parse_args()
    cfg = json.loads(args.config.read_text())
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    backbone_cfg = {k: v for k, v in cfg["backbone"].items() if k != "model_type"}
    model = DebertaV2Model(DebertaV2Config(**backbone_cfg))
    h, t, p = model.config.hidden_size, cfg["n_tasks"], cfg["drop_out"]
    head = nn.Sequential(nn.Dropout(p), nn.Linear(2 * h, h), nn.Tanh(), nn.Dropout(p), nn.Linear(h, t))
    pairs, seq = cfg["pairs"], cfg["seq_len"]
    src, c1, c2 = cfg["marker_positions"]
    ids = torch.randint(5, model.config.vocab_size, (pairs, seq))
    mask = torch.ones_like(ids)
    rows = torch.arange(pairs)

    def forward():
        encs = model(input_ids=ids, attention_mask=mask).last_hidden_state
        left = head(torch.cat([encs[rows, src], encs[rows, c1]], dim=-1))
        right = head(torch.cat([encs[rows, src], encs[rows, c2]], dim=-1))
        return left, right

    def timed(label, step):
        for _ in range(args.warmup):
            step()
        start = time.perf_counter()
        for _ in range(args.iters):
            step()
        secs = time.perf_counter() - start
        print(f"{label:<17} {args.iters * pairs / secs:>9.2f} pairs/s  ({1e3 * secs / args.iters:.1f} ms/batch of "
              f"{pairs}, {args.iters} iters, threads {torch.get_num_threads()})")

    print(f"torch {torch.__version__} PairRanker: hidden {h}, layers {model.config.num_hidden_layers}, seq {seq}, "
          f"batch {pairs} pairs")
    model.eval()
    head.eval()

    def infer():
        with torch.inference_mode():
            left, right = forward()
            (left - right).mean(dim=-1)

    timed("forward", infer)
    model.train()
    head.train()

    def train_step():
        left, right = forward()
        d = (torch.rand(pairs, t) - torch.rand(pairs, t)).sign()
        loss = -torch.log(torch.sigmoid((left - right) * d)).mean()
        loss.backward()
        model.zero_grad(set_to_none=True)
        head.zero_grad(set_to_none=True)

    timed("forward+backward", train_step)


if __name__ == "__main__":
    main()
