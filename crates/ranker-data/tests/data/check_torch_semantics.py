#!/usr/bin/env python3
"""Checks, against torch itself, the sorting and slicing facts the ranker-data sampling tests hard-code.

Needs `torch` (pip). Run: `python3 check_torch_semantics.py`; it prints the torch version and "ok".
The LLM-Blender code these mirror: `CrossCompareReranker.sampling` and `sub_sampling` in
`llm_blender/pair_ranker/ranker.py`.
"""
import random

import torch

# sampling/order.rs: descending argsort keeps ties in index order for up to 16 elements (insertion sort on CPU).
assert torch.argsort(torch.tensor([1., 3., 3., 2., 3., 1., 2.]), descending=True).tolist() == [1, 2, 4, 3, 6, 0, 5]
rng = random.Random(0)
for _ in range(5000):
    n = rng.randint(1, 16)
    values = [float(rng.randint(0, 3)) for _ in range(n)]
    got = torch.argsort(torch.tensor(values), descending=True).tolist()
    assert got == sorted(range(n), key=lambda i: (-values[i], i)), values

# Scores are float32 tensors: 0.1 + 0.2 and 0.3 tie.
assert torch.tensor([0.1 + 0.2]).item() == torch.tensor([0.3]).item()

# sampling/order.rs: step = torch.tensor(n / (n * ratio), dtype=torch.long) truncates.
for n, ratio, step in [(11, 0.4, 2), (11, 0.3, 3), (10, 0.5, 2), (7, 1.0, 1), (3, 0.2, 4), (5, 0.2, 5), (10, 0.1, 10)]:
    assert torch.tensor(n / (n * ratio), dtype=torch.long).item() == step, (n, ratio)

# sampling/pairs.rs: torch.combinations order; uniform and top_bottom slicing.
assert torch.combinations(torch.arange(4), r=2).tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
assert torch.combinations(torch.arange(1), r=2).shape[0] == 0
s = torch.arange(10, -1, -1)  # 11 candidates with score = index, sorted descending
step = torch.tensor(11 / (11 * 0.4), dtype=torch.long)
assert s[0:-step:step].tolist() == [10, 8, 6, 4, 2] and s[step::step].tolist() == [8, 6, 4, 2, 0]
step = torch.tensor(11 / (11 * 0.3), dtype=torch.long)
assert s[0:-step:step].tolist() == [10, 7, 4] and s[step::step].tolist() == [7, 4, 1]
three = torch.tensor([1, 2, 0])
assert three[:5].tolist() == [1, 2, 0] and three[-5:].tolist() == [1, 2, 0]
assert three[:2].tolist() == [1, 2] and three[-2:].tolist() == [2, 0]
one = torch.tensor([0])
assert one[0:-1:1].tolist() == []

# sampling/candidates.rs: SimCLS uniform over 11 candidates at ratio 0.3 takes sorted positions 0, 3, 6, 9.
assert torch.arange(11)[::torch.tensor(11 / (11 * 0.3), dtype=torch.long)].tolist() == [0, 3, 6, 9]

print("torch", torch.__version__, "ok")
