#!/bin/sh
# The HAM10000 CPU benchmarks (issue 14.3), p = 0.5 and p = 0.4, 3 seeds each,
# written seed by seed (and method by method) to benchmarks/results/ so that
# running this script again resumes where it stopped:
#
#   nohup sh benchmarks/run_ham_cpu.sh > benchmarks/out/logs/ham.log 2>&1 &
#
# or one noise rate per process, both at once on a 2-core machine:
#
#   nohup sh benchmarks/run_ham_cpu.sh ham10000_p05 > benchmarks/out/logs/p05.log 2>&1 &
#   nohup sh benchmarks/run_ham_cpu.sh ham10000_p04 > benchmarks/out/logs/p04.log 2>&1 &
#
# Headline: forget_rate="auto" (the filter's own estimate). The true-rate upper
# reference runs last, under its own name (ham10000_p05_true_rate...).
set -e
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
PY=${PYTHON:-python}
DATA=${HAM10000:-/work/shared/data/ham10000}
CONFIGS=${*:-ham10000_p05 ham10000_p04}
for seed in 0 1 2; do
  for cfg in $CONFIGS; do
    $PY benchmarks/run_benchmark.py --config $cfg --data "$DATA" --seeds $seed \
      --out benchmarks/results --threads 1
  done
done
for cfg in $CONFIGS; do
  $PY benchmarks/run_benchmark.py --config $cfg --data "$DATA" --seeds 0 1 2 \
    --out benchmarks/results --threads 1 --name ${cfg}_true_rate \
    --set 'forget_rate="true"'
done
