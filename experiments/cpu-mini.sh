#!/usr/bin/env bash
# A scaled-down reproduction of the paper's ranker comparison that runs on a laptop CPU: PairRanker,
# SummaReranker and SimCLS (the tiny DeBERTa-v3-style encoder of configs/models/deberta-v3-tiny, trained from
# scratch) on the synthetic MixInstruct-format set of the quickstart, each evaluated on the held-out split, then
# compared by `ranker report`. Writes experiments/results/cpu-mini/{table.md,chart.png} (committed, so readers see
# the flow and the format) and the runs under runs/cpu-mini/.
#
# The numbers are not the paper's: synthetic data, rougeL/bleu supervision, tiny models. The paper-scale runs are
# the configs in configs/paper/ (see experiments/README.md).
#
#   ./experiments/cpu-mini.sh                 # release build (the default)
#   PROFILE=dev ./experiments/cpu-mini.sh     # debug binaries: no release build (dependencies are optimised)
#   ITEMS=2000 EPOCHS=2 ./experiments/cpu-mini.sh   # the full quickstart-sized runs
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${PROFILE:-release}
if [ "$profile" = release ]; then
    cargo build --release -p ranker-cli -p launcher
    bin=target/release
else
    cargo build -p ranker-cli -p launcher
    bin=target/debug
fi
items=${ITEMS:-600}
epochs=${EPOCHS:-1}
out=experiments/results/cpu-mini

mkdir -p data/quickstart
make_split() { # name items seed: the quickstart's synthetic splits
    if [ ! -s "data/quickstart/$1.jsonl" ]; then
        "$bin/ranker" data synth --items "$2" --seed "$3" --output "data/quickstart/$1.jsonl"
    fi
}
make_split train 2000 1
make_split dev 200 2
make_split test 200 3

runs=()
for entry in pairranker:configs/quickstart.yaml summareranker:configs/summareranker.yaml simcls:configs/simcls.yaml; do
    name=${entry%%:*}
    config=${entry#*:}
    run=runs/cpu-mini/$name
    rm -rf "$run"
    echo "== $name ($config): $items training items, $epochs epoch(s)"
    start=$(date +%s)
    "$bin/ranker" --quiet train "$config" \
        --set "run.name=cpu-mini-$name" \
        --set "run.output_dir=$run" \
        --set "data.max_train_size=$items" \
        --set "data.max_eval_size=100" \
        --set "data.max_predict_size=200" \
        --set "train.epochs=$epochs" \
        --set "train.eval_every=null"
    echo "   trained and evaluated in $(( $(date +%s) - start )) s"
    runs+=("$run")
done

mkdir -p "$out"
"$bin/ranker" report "${runs[@]}" --output "$out/table.md" --plot "$out/chart.png"
echo
echo "wrote $out/table.md and $out/chart.png (runs under runs/cpu-mini/)"
