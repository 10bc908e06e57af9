#!/usr/bin/env python3
"""Writes the small data files the ranker-data tests read (standard library only).

`mini.json` is written by hand; this script derives `mini.jsonl` from it and writes `bad/*`: each holds a good
item, then (after a blank line in the JSONL files, so line 3 is item 1) a bad item with id "bad/1".
Run from this directory: `python3 make_test_data.py`.
"""
import json

with open("mini.json") as f:
    items = json.load(f)
with open("mini.jsonl", "w") as f:
    for item in items:
        f.write(json.dumps(item) + "\n")

GOOD = {"id": "ok/0", "input": "x", "output": "y",
        "candidates": [{"model": "m1", "decoding_method": "d", "text": "t", "scores": {"bleu": 1.0, "rouge1": 0.5}},
                       {"model": "m2", "decoding_method": "d", "text": "u", "scores": {"bleu": 2.0, "rouge1": 0.25}}]}


def bad(candidate_1=None, **fields):
    item = json.loads(json.dumps(GOOD))
    item["id"] = "bad/1"
    if candidate_1 is not None:
        item["candidates"][1] = candidate_1
    item.update(fields)
    return item


def write_both(name, item):
    with open(f"bad/{name}.jsonl", "w") as f:
        f.write(json.dumps(GOOD) + "\n\n" + json.dumps(item) + "\n")
    with open(f"bad/{name}.json", "w") as f:
        f.write("[\n" + json.dumps(GOOD) + ",\n" + json.dumps(item) + "\n]\n")


write_both("missing_text", bad({"model": "m2", "decoding_method": "d", "scores": {"bleu": 2.0, "rouge1": 0.25}}))
write_both("missing_metric", bad({"model": "m2", "decoding_method": "d", "text": "u", "scores": {"rouge1": 0.25}}))
write_both("non_numeric_score",
           bad({"model": "m2", "decoding_method": "d", "text": "u", "scores": {"bleu": "n/a", "rouge1": 0.25}}))
write_both("no_candidates", bad(candidates=[]))
write_both("empty_output", bad(output=[]))
write_both("bad_verdict", bad(cmp_results={"m1,m2": "A wins"}))

# Python's json writes NaN for float("nan"), which is not JSON.
nan_item = bad({"model": "m2", "decoding_method": "d", "text": "u", "scores": {"bleu": float("nan"), "rouge1": 0.25}})
with open("bad/nan_score.jsonl", "w") as f:
    f.write(json.dumps(GOOD) + "\n\n" + json.dumps(nan_item) + "\n")
with open("bad/nan_score.json", "w") as f:
    json.dump([GOOD, nan_item], f, indent=1)

broken = '{"id": "bad/1", "input": "x",, "output": "y"}'
with open("bad/malformed.jsonl", "w") as f:
    f.write(json.dumps(GOOD) + "\n\n" + broken + "\n")
with open("bad/malformed.json", "w") as f:
    f.write("[\n" + json.dumps(GOOD) + ",\n" + broken + "\n]\n")
with open("bad/not_array.json", "w") as f:
    f.write(json.dumps(GOOD) + "\n")
with open("bad/empty.jsonl", "w") as f:
    f.write("\n\n")
with open("bad/truncated.json", "w") as f:
    f.write("[\n" + json.dumps(GOOD) + ",\n" + json.dumps(GOOD)[:30])
