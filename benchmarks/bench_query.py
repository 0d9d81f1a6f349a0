"""Cost of the query strategies: coreset (k-center greedy) and entropy scoring.

Measures, for each case, wall seconds, CPU seconds (``time.process_time``: all
threads of the process, so BLAS threads add up) and peak memory two ways:

* ``tracemalloc_peak_mib``: peak of memory allocated through Python's
  allocators during one call (numpy arrays are traced), inputs excluded. This
  is the memory the algorithm itself needs.
* ``maxrss_delta_mib``: growth of the process's resident-set high-water mark
  (``resource.getrusage(...).ru_maxrss``) over the timed calls, measured in a
  fresh child process after its inputs were created. It also sees BLAS work
  buffers but is coarse (page granularity, never decreases).

Each case runs in its own spawned process so that one case's peak does not hide
another's. Usage::

    python benchmarks/bench_query.py --out bench_query.json
    python benchmarks/bench_query.py --threads 1 --cases \\
        coreset_previous_k_center_float32 coreset_k_center_greedy_float32 \\
        coreset_strategy_rank_float32
    python benchmarks/bench_query.py --smoke

``coreset_previous_k_center_float32`` is the implementation before the lazy
update, so old and new are measured side by side in one run.
"""

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

# Measure the checkout this script belongs to, not whichever noisyactive is
# installed (spawned children run this module too, so they see the same path).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FULL = {
    "n_candidates": 20_000,
    "dim": 512,
    "n_centers": 2_000,
    "n_pick": 500,
    "n_proba": 20_000,
    "n_classes": 10,
}
SMOKE = {
    "n_candidates": 2_000,
    "dim": 64,
    "n_centers": 200,
    "n_pick": 50,
    "n_proba": 2_000,
    "n_classes": 10,
}
CASES = [
    "coreset_previous_k_center_float32",
    "coreset_k_center_greedy_float32",
    "coreset_k_center_greedy_float64",
    "coreset_strategy_rank_float32",
    "coreset_naive_full_matrix_float32",
    "entropy_scores",
    "entropy_strategy_rank",
]


def _maxrss_mib():
    # Linux reports kilobytes, macOS bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _naive_k_center(points, centers, n):
    """The common reference design: one full n_candidates x n_centers matrix."""
    from sklearn.metrics import euclidean_distances

    min_d = euclidean_distances(points, centers).min(axis=1)
    picks = []
    for _ in range(n):
        pick = int(np.argmax(min_d))
        picks.append(pick)
        new = euclidean_distances(points, points[[pick]]).ravel()
        min_d = np.minimum(min_d, new)
        min_d[pick] = -np.inf
    return np.array(picks)


def _previous_k_center(points, centers, n, chunk_size=4096):
    """The k-center greedy as shipped before the lazy update (kept to measure
    against): blocked initial distances, then every candidate updated against
    each pick with one matrix-vector product (reads all embeddings per pick)."""
    best = np.full(points.shape[0], np.inf, dtype=points.dtype)
    points_sq = np.einsum("ij,ij->i", points, points)
    centers_sq = np.einsum("ij,ij->i", centers, centers)
    for start in range(0, points.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        block_best = best[rows]
        for c_start in range(0, centers.shape[0], chunk_size):
            cols = slice(c_start, c_start + chunk_size)
            block = points[rows] @ centers[cols].T
            block *= -2.0
            block += centers_sq[cols]
            np.minimum(block_best, block.min(axis=1), out=block_best)
            del block
        block_best += points_sq[rows]
    min_sq = np.maximum(best, 0.0)
    picks, dists = np.empty(n, dtype=np.intp), np.empty(n)
    for step in range(n):
        pick = int(np.argmax(min_sq))
        picks[step], dists[step] = pick, np.sqrt(max(float(min_sq[pick]), 0.0))
        new_sq = points @ points[pick]
        new_sq *= -2.0
        new_sq += points_sq
        new_sq += points_sq[pick]
        np.minimum(min_sq, new_sq, out=min_sq)
        min_sq[pick] = -np.inf
    return picks, dists


class _ProbaEstimator:
    """predict_proba returns the rows of X: they hold precomputed probabilities."""

    classes_ = None

    def predict_proba(self, X):
        return X


def _make_call(case, sizes, seed):
    """Build inputs (not measured) and return the zero-argument call to time."""
    from noisyactive.query import (
        CoreSetSampling,
        EntropySampling,
        entropy_scores,
        k_center_greedy,
    )

    rng = np.random.default_rng(seed)
    m, d, c, k = (sizes[key] for key in ("n_candidates", "dim", "n_centers", "n_pick"))
    if case.startswith("coreset"):
        dtype = np.float64 if case.endswith("float64") else np.float32
        points = rng.standard_normal((m, d), dtype=np.float32).astype(dtype)
        centers = rng.standard_normal((c, d), dtype=np.float32).astype(dtype)
        if case.startswith("coreset_k_center_greedy"):
            return lambda: k_center_greedy(points, centers, k)
        if case == "coreset_naive_full_matrix_float32":
            return lambda: _naive_k_center(points, centers, k)
        if case == "coreset_previous_k_center_float32":
            return lambda: _previous_k_center(points, centers, k)
        X = np.concatenate([points, centers])
        labeled = np.zeros(m + c, dtype=bool)
        labeled[m:] = True
        candidates = np.arange(m)
        strategy = CoreSetSampling(random_state=0)
        return lambda: strategy.rank(None, X, candidates, k, labeled_mask=labeled)
    proba = rng.dirichlet(np.ones(sizes["n_classes"]), size=sizes["n_proba"])
    if case == "entropy_scores":
        return lambda: entropy_scores(proba)
    estimator = _ProbaEstimator()
    candidates = np.arange(sizes["n_proba"])
    return lambda: EntropySampling().rank(estimator, proba, candidates, k)


def _measure(case, sizes, repeats, seed, threads=None):
    """Runs in a fresh child process; returns one result row."""
    from threadpoolctl import threadpool_limits

    if threads is not None:
        # Kept for the life of the child process (it runs this one case).
        threadpool_limits(limits=threads)
    call = _make_call(case, sizes, seed)
    rss_before = _maxrss_mib()
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    rss_delta = _maxrss_mib() - rss_before
    tracemalloc.start()
    try:
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "case": case,
        "repeats": repeats,
        "wall_s_median": statistics.median(walls),
        "wall_s_min": min(walls),
        "cpu_s_median": statistics.median(cpus),
        "tracemalloc_peak_mib": peak / 2**20,
        "maxrss_delta_mib": rss_delta,
    }


def _environment():
    import sklearn
    from threadpoolctl import threadpool_info

    import noisyactive

    return {
        "noisyactive": noisyactive.__file__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": multiprocessing.cpu_count(),
        "blas": [
            {k: info.get(k) for k in ("internal_api", "num_threads", "version")}
            for info in threadpool_info()
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (CI)")
    parser.add_argument("--out", help="write the results as JSON to this path")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=CASES)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS/OpenMP threads per case (threadpoolctl); default: the library's",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every case in this process (faster to start; maxrss deltas "
        "then depend on the cases run before)",
    )
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    repeats = args.repeats or (1 if args.smoke else 3)

    # The machines are shared: the load average says how much to trust wall times.
    load_before = list(os.getloadavg())
    rows = []
    for case in args.cases:
        if args.in_process:
            rows.append(_measure(case, sizes, repeats, args.seed, args.threads))
            continue
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            task = (case, sizes, repeats, args.seed, args.threads)
            rows.append(pool.apply(_measure, task))

    header = (
        f"{'case':<36} {'wall s':>8} {'CPU s':>8} {'tracemalloc MiB':>16} "
        f"{'maxrss +MiB':>12}"
    )
    print(
        f"sizes: coreset {sizes['n_candidates']} x {sizes['dim']} candidates, "
        f"{sizes['n_centers']} centres, pick {sizes['n_pick']}; entropy "
        f"{sizes['n_proba']} x {sizes['n_classes']} probabilities; median of "
        f"{repeats} call(s)"
    )
    print(f"load average before: {load_before[0]:.2f} (cores: {os.cpu_count()})")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['case']:<36} {row['wall_s_median']:>8.4f} "
            f"{row['cpu_s_median']:>8.4f} {row['tracemalloc_peak_mib']:>16.1f} "
            f"{row['maxrss_delta_mib']:>12.1f}"
        )
    report = {
        "benchmark": "query",
        "command": " ".join(
            [
                "python benchmarks/bench_query.py",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
        "loadavg_before": load_before,
        "loadavg_after": list(os.getloadavg()),
        "smoke": args.smoke,
        "in_process": args.in_process,
        "threads": args.threads,
        "sizes": sizes,
        "memory": {
            "tracemalloc_peak_mib": "peak bytes allocated during one call, inputs "
            "excluded (numpy arrays are traced; BLAS work buffers are not)",
            "maxrss_delta_mib": "growth of ru_maxrss over the timed calls in a fresh "
            "child process, after inputs were built",
        },
        "environment": _environment(),
        "results": rows,
    }
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=2)
        print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
