#!/usr/bin/env python3
"""Text-metric throughput: ranker-metrics (Rust) next to rouge-score and sacrebleu.

Run from anywhere (it finds the repository from its own path):

    pip install rouge-score==0.1.2 sacrebleu==2.6.0
    python3 experiments/bench/metrics_bench.py                 # 2,000 pairs, ~1 min
    python3 experiments/bench/metrics_bench.py --pairs 5000 --min-seconds 5

What it does:
  1. Generates N realistic (prediction, reference) pairs deterministically: MixInstruct-like
     answers of 20-250 words, some multi-line, some with 2-3 references, predictions that
     share part of the reference's wording.
  2. Times, single-threaded in this Python process, rouge-score
     (`RougeScorer(["rouge1","rouge2","rougeL","rougeLsum"], use_stemmer=True).score_multi`)
     and `sacrebleu.sentence_bleu` on every pair.
  3. Builds and runs the Rust bench target (`cargo bench -p ranker-metrics --bench
     text_metrics`), which scores the same pairs with 1 thread and with all threads (rayon,
     inside the bench binary only), repeating passes for at least --min-seconds.
  4. Checks that the Rust scores equal the Python ones (max |difference|) and prints pairs/s
     side by side with the speed-up over Python. Goals: ROUGE >= 50x, BLEU >= 5x, 1 thread.

CARGO_TARGET_DIR is honoured. Run it on an otherwise idle machine for numbers worth quoting.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sacrebleu
from rouge_score import rouge_scorer

REPO = Path(__file__).resolve().parents[2]
ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]

VOCAB = """
the a an of to in and or but is are was were be been have has had do does did not no yes
it this that these those there here which who what when where why how can could should would
will may might must use uses used using make makes made making provide provides provided
example examples first second third finally also however therefore because although while
python code function functions return returns value values list lists string strings number
numbers data file files read reading write writing output input user users system systems
model models language languages learning train training trained network networks layer layers
answer answers question questions explain explains explained explanation simple simply
important importantly different difference differences similar similarly common commonly
recipe ingredients cook cooking minutes heat oven bake baking mix mixing add adding salt sugar
travel city cities country countries visit visiting history historical culture cultural
health healthy exercise exercises sleep sleeping food foods water drink drinking daily
people person friend friends family families work working job jobs time times day days year
years good better best bad worse worst great small large long short high low new old
step steps process processes result results method methods approach approaches problem
problems solution solutions help helps helpful helping understand understanding consider
""".split()


def sentence(rng):
    words = [rng.choice(VOCAB) for _ in range(rng.randint(6, 22))]
    if rng.random() < 0.25:
        words.insert(rng.randrange(len(words)), str(rng.randint(1, 2024)))
    if rng.random() < 0.3:
        i = rng.randrange(len(words))
        words[i] += ","
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "!", "?", ":"])


def answer(rng, n_words):
    parts = []
    count = 0
    list_mode = rng.random() < 0.25
    while count < n_words:
        s = sentence(rng)
        count += s.count(" ") + 1
        parts.append(("- " if list_mode else "") + s)
    sep = "\n" if list_mode else rng.choice([" ", " ", "\n"])
    return sep.join(parts)


def rewrite(rng, text, rate):
    out = []
    for line in text.split("\n"):
        words = []
        for w in line.split(" "):
            r = rng.random()
            if r < rate / 3:
                continue
            if r < 2 * rate / 3:
                words.append(rng.choice(VOCAB))
                continue
            words.append(w)
            if r < rate:
                words.append(rng.choice(VOCAB))
        out.append(" ".join(words))
    return "\n".join(out)


def make_pairs(n, seed=1234):
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        reference = answer(rng, rng.randint(20, 128))
        if rng.random() < 0.8:
            prediction = rewrite(rng, reference, rng.choice([0.2, 0.4, 0.6, 0.8]))
            if rng.random() < 0.3:
                prediction += " " + answer(rng, rng.randint(10, 120))
        else:
            prediction = answer(rng, rng.randint(20, 250))
        references = [reference]
        if rng.random() < 0.1:
            references += [rewrite(rng, reference, 0.3) for _ in range(rng.randint(1, 2))]
        pairs.append((prediction, references))
    return pairs


def time_python(pairs):
    scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
    start = time.perf_counter()
    rouge = []
    for prediction, references in pairs:
        s = scorer.score_multi(references, prediction)
        rouge.append([s[t].fmeasure for t in ROUGE_TYPES])
    rouge_s = time.perf_counter() - start
    start = time.perf_counter()
    bleu = [sacrebleu.sentence_bleu(prediction, references).score for prediction, references in pairs]
    bleu_s = time.perf_counter() - start
    return rouge, bleu, len(pairs) / rouge_s, len(pairs) / bleu_s


def run_rust(pairs_path, scores_path, min_seconds):
    cmd = [
        "cargo", "bench", "--quiet", "-p", "ranker-metrics", "--bench", "text_metrics", "--",
        str(pairs_path), "--min-seconds", str(min_seconds), "--scores-out", str(scores_path),
    ]
    done = subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.PIPE, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000, help="number of pairs (default 2000)")
    parser.add_argument("--min-seconds", type=float, default=2.0,
                        help="minimum timed duration per Rust measurement (default 2)")
    args = parser.parse_args()

    pairs = make_pairs(args.pairs)
    words = sum(len(p.split()) + sum(len(r.split()) for r in refs) for p, refs in pairs) / len(pairs)
    print(f"{len(pairs)} pairs, {words:.0f} words per pair (prediction + references)", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        pairs_path = Path(tmp) / "pairs.jsonl"
        scores_path = Path(tmp) / "scores.jsonl"
        with open(pairs_path, "w", encoding="utf-8") as f:
            for prediction, references in pairs:
                f.write(json.dumps({"prediction": prediction, "reference": references}) + "\n")
        print("timing rouge-score and sacrebleu ...", file=sys.stderr)
        rouge, bleu, py_rouge, py_bleu = time_python(pairs)
        print("building and timing ranker-metrics ...", file=sys.stderr)
        rust = run_rust(pairs_path, scores_path, args.min_seconds)
        with open(scores_path, encoding="utf-8") as f:
            rust_scores = [json.loads(line) for line in f]

    max_diff = 0.0
    for want_rouge, want_bleu, got in zip(rouge, bleu, rust_scores):
        for t, w in zip(ROUGE_TYPES, want_rouge):
            max_diff = max(max_diff, abs(got[t] - w))
        max_diff = max(max_diff, abs(got["bleu"] - want_bleu))

    py_all = 1.0 / (1.0 / py_rouge + 1.0 / py_bleu)
    threads = rust["threads"]
    print(f"\n{'metric':<22}{'python 1t':>12}{'rust 1t':>12}{'rust ' + str(threads) + 't':>12}"
          f"{'1t speed-up':>14}{str(threads) + 't speed-up':>14}")
    for name, py, key in [("ROUGE (4 types)", py_rouge, "rouge"), ("sentence BLEU", py_bleu, "bleu"),
                          ("all five", py_all, "all")]:
        one, many = rust[f"{key}_1t"], rust[f"{key}_nt"]
        print(f"{name:<22}{py:>12.0f}{one:>12.0f}{many:>12.0f}{one / py:>13.1f}x{many / py:>13.1f}x")
    print(f"\npairs/s; {len(pairs)} pairs; max |rust - python| over all scores: {max_diff:.3g}")
    print(f"goals (1 thread): ROUGE >= 50x, BLEU >= 5x; "
          f"got {rust['rouge_1t'] / py_rouge:.1f}x and {rust['bleu_1t'] / py_bleu:.1f}x")
    if max_diff > 1e-9:
        print("ERROR: scores differ from the Python packages", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
