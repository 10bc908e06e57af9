#!/usr/bin/env bash
# Training steps/s of configs/quickstart.yaml on CPU for two `ranker` binaries, alternated.
#
#   experiments/bench/train_steps.sh BEFORE_BIN AFTER_BIN [ROUNDS] [STEPS]
#
# Each round runs BEFORE then AFTER for STEPS steps (default 25, one epoch of 200 synthetic items,
# no dev or test split so nothing but training is timed) and takes steps/s from the timestamps of
# the step-1 and last-step log lines, so start-up, the first step's warm-up and the final checkpoint
# are excluded. Prints each run and the median per binary.
set -euo pipefail
cd "$(dirname "$0")/../.."

before=${1:?usage: train_steps.sh BEFORE_BIN AFTER_BIN [ROUNDS] [STEPS]}
after=${2:?usage: train_steps.sh BEFORE_BIN AFTER_BIN [ROUNDS] [STEPS]}
rounds=${3:-5}
steps=${4:-25}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$after" data synth --items 200 --seed 1 --output "$work/train.jsonl" 2>/dev/null
sed -e "s#data/quickstart/train.jsonl#$work/train.jsonl#" \
    -e '/^  dev:/d' -e '/^  test:/d' \
    -e "s#configs/models/#$PWD/configs/models/#" \
    -e "s#output_dir: runs/quickstart#output_dir: $work/run#" \
    -e "s#log_every: 25#log_every: 1\n  max_steps: $steps#" \
    configs/quickstart.yaml > "$work/config.yaml"

# steps/s between the first and the last step's log line.
run_once() {
    rm -rf "$work/run"
    "$1" train --device cpu "$work/config.yaml" 2>&1 | python3 -c '
import re, sys
from datetime import datetime
times = [datetime.fromisoformat(m.group(1)[:26])
         for line in sys.stdin
         if (m := re.match(r"(\S+)Z\s+INFO step \d+/", line))]
print(f"{(len(times) - 1) / (times[-1] - times[0]).total_seconds():.3f}")'
}

declare -a rates_before rates_after
for round in $(seq 1 "$rounds"); do
    b=$(run_once "$before")
    a=$(run_once "$after")
    rates_before+=("$b")
    rates_after+=("$a")
    echo "round $round: before $b steps/s, after $a steps/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "median: before $(median "${rates_before[@]}") steps/s, after $(median "${rates_after[@]}") steps/s"
