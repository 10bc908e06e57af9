#!/usr/bin/env bash
# The quickstart: build, make the synthetic data, train the tiny PairRanker of configs/quickstart.yaml
# on CPU through `launch`, and print the held-out evaluation table. About one minute on 2 cores
# after the build. Pass NPROC=2 to train with two data-parallel workers.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p ranker-cli -p launcher
bin=target/release

mkdir -p data/quickstart
make_split() { # name items seed
    if [ ! -s "data/quickstart/$1.jsonl" ]; then
        "$bin/ranker" data synth --items "$2" --seed "$3" --output "data/quickstart/$1.jsonl"
    fi
}
make_split train 2000 1
make_split dev 200 2
make_split test 200 3

"$bin/launch" --nproc "${NPROC:-1}" configs/quickstart.yaml
echo
echo "run directory: runs/quickstart (metrics.jsonl, loss.png, dev_score.png, checkpoints/, eval/report.json)"
