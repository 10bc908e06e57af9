#!/usr/bin/env python3
"""PairRanker CPU throughput in PyTorch: transformers' DebertaV2Model + the reference's PairRanker head
(Dropout -> Linear(2H->H) -> Tanh -> Dropout -> Linear(H->T), pooled at the three marker positions), on the
configuration in pair_ranker_config.json (the same one crates/ranker-models/benches/pair_ranker.rs reads).

Reports forward-only (eval, inference_mode) and forward+backward (train mode, instructgpt loss) pairs/s.
Run with the same thread count as the Rust side, e.g.:
    RAYON_NUM_THREADS=4 BENCH_ITERS=10 cargo bench -p ranker-models --bench pair_ranker
    python3 experiments/bench/pair_ranker_bench.py --threads 4 --iters 10

On a GPU (experiments/gpu/bench.sh): `--device cuda --precision fp32|bf16` (fp32 with TF32 matmuls, bf16 through
autocast, as HF Trainer's `tf32` / `bf16` flags do), `--optimizer` adds an AdamW step to each training iteration,
and `--json FILE` appends one JSON line per measurement (pairs/s, ms per iteration, peak memory).
"""

import argparse
import contextlib
import json
import os
import resource
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
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--optimizer", action="store_true", help="an AdamW step in each training iteration")
    parser.add_argument("--only", choices=["forward", "train"], help="run one of the two measurements")
    parser.add_argument("--pairs", type=int, help="pair rows per batch (default: the config's)")
    parser.add_argument("--json", type=Path, help="append one JSON line per measurement to this file")
    args = parser.parse_args()
    cfg = json.loads(args.config.read_text())
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    backbone_cfg = {k: v for k, v in cfg["backbone"].items() if k != "model_type"}
    model = DebertaV2Model(DebertaV2Config(**backbone_cfg)).to(device)
    h, t, p = model.config.hidden_size, cfg["n_tasks"], cfg["drop_out"]
    head = nn.Sequential(nn.Dropout(p), nn.Linear(2 * h, h), nn.Tanh(), nn.Dropout(p), nn.Linear(h, t)).to(device)
    pairs, seq = args.pairs or cfg["pairs"], cfg["seq_len"]
    src, c1, c2 = cfg["marker_positions"]
    ids = torch.randint(5, model.config.vocab_size, (pairs, seq), device=device)
    mask = torch.ones_like(ids)
    rows = torch.arange(pairs, device=device)
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(head.parameters()), lr=1e-5) \
        if args.optimizer else None

    def autocast():
        if args.precision == "bf16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def forward():
        with autocast():
            encs = model(input_ids=ids, attention_mask=mask).last_hidden_state
            left = head(torch.cat([encs[rows, src], encs[rows, c1]], dim=-1))
            right = head(torch.cat([encs[rows, src], encs[rows, c2]], dim=-1))
        return left.float(), right.float()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def peak_memory_mib():
        if device.type == "cuda":
            return torch.cuda.max_memory_allocated() / 2**20
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB

    def kernels_per_iter(step):
        """CUDA kernels one iteration launches (torch.profiler; memcpy/memset excluded) and the five that take
        the most GPU time; (None, None) on the CPU."""
        if device.type != "cuda":
            return None, None
        from torch.profiler import ProfilerActivity, profile
        try:
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                step()
                sync()
            kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA
                       and not e.name.startswith(("Memcpy", "Memset"))]
            totals = {}
            for e in kernels:
                totals[e.name] = totals.get(e.name, 0.0) + e.device_time_total / 1e3
            top = sorted(totals.items(), key=lambda kv: -kv[1])[:5]
            return len(kernels), [{"kernel": name[:120], "ms": round(ms, 3)} for name, ms in top]
        except Exception as e:  # the profiler needs CUPTI; report why instead of failing the measurement
            return None, f"torch.profiler failed: {e}"

    def timed(label, step):
        for _ in range(args.warmup):
            step()
        sync()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(args.iters):
            step()
        sync()
        secs = time.perf_counter() - start
        rate = args.iters * pairs / secs
        peak = peak_memory_mib()
        kernels, top_kernels = kernels_per_iter(step)
        print(f"{label:<17} {rate:>9.2f} pairs/s  ({1e3 * secs / args.iters:.1f} ms/batch of "
              f"{pairs}, {args.iters} iters, threads {torch.get_num_threads()}, peak {peak:.0f} MiB)")
        if args.json:
            with args.json.open("a") as f:
                f.write(json.dumps({
                    "impl": "pytorch", "measure": label, "device": args.device, "precision": args.precision,
                    "optimizer": bool(optimizer) and label != "forward", "pairs_per_s": rate,
                    "ms_per_iter": 1e3 * secs / args.iters, "pairs": pairs, "seq_len": seq,
                    "layers": model.config.num_hidden_layers, "hidden": h, "peak_mib": peak,
                    "threads": torch.get_num_threads(), "torch": torch.__version__,
                    "kernels_per_iter": kernels, "top_kernels": top_kernels,
                }) + "\n")

    print(f"torch {torch.__version__} PairRanker on {args.device} ({args.precision}): hidden {h}, layers "
          f"{model.config.num_hidden_layers}, seq {seq}, batch {pairs} pairs")
    if args.only != "train":
        model.eval()
        head.eval()

        def infer():
            with torch.inference_mode():
                left, right = forward()
                (left - right).mean(dim=-1)

        timed("forward", infer)
    if args.only != "forward":
        model.train()
        head.train()

        def train_step():
            left, right = forward()
            d = (torch.rand(pairs, t, device=device) - torch.rand(pairs, t, device=device)).sign()
            loss = -torch.log(torch.sigmoid((left - right) * d)).mean()
            loss.backward()
            if optimizer:
                optimizer.step()
            model.zero_grad(set_to_none=True)
            head.zero_grad(set_to_none=True)

        timed("train step" if optimizer else "forward+backward", train_step)


if __name__ == "__main__":
    main()
