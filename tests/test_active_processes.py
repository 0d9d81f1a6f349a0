"""One writer per checkpoint folder, and no answer lost to ``kill -9``.

The children are forked from the test process (imports already loaded), so a
start costs milliseconds and the kills land inside the campaign.
"""

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive.active import (
    ActiveLabelCleaner,
    CheckpointLock,
    CheckpointLockedError,
    load_cleaner,
)
from noisyactive.active._files import read_journal

_FORK = multiprocessing.get_context("fork")
N_ROUNDS, BATCH = 25, 3


def _data():
    X, y = make_classification(
        200, n_features=5, n_informative=3, n_classes=3, random_state=4
    )
    y_noisy = np.where(np.arange(200) % 3 == 0, (y + 1) % 3, y)
    return X, y, y_noisy


class LoggingOracle:
    """True labels; writes every question (and the run asking it) to a log."""

    def __init__(self, y_true, log, run, delay=0.0):
        self.y_true, self.log, self.run, self.delay = y_true, log, run, delay

    def __call__(self, ids, X_subset):
        with open(self.log, "a") as fh:
            fh.write(f"{self.run} {' '.join(map(str, ids))}\n")
            fh.flush()
            os.fsync(fh.fileno())
        time.sleep(self.delay)
        return self.y_true[ids]


class RoundLog:
    """``on_round_end`` that appends the round number to a file (one line per
    call, in whichever process runs the round)."""

    def __init__(self, path):
        self.path = path

    def __call__(self, cleaner, record):
        with open(self.path, "a") as fh:
            fh.write(f"{record['round']}\n")


def _cleaner(oracle, folder):
    return ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(max_iter=300),
        oracle=oracle,
        start="noisy",
        batch_size=BATCH,
        n_rounds=N_ROUNDS,
        checkpoint=folder,
        random_state=0,
        on_round_end=RoundLog(f"{folder}-rounds.log"),
    )


def _fit(cleaner):
    """Every run validates on the same clean rows, so each round has a score."""
    X, y, y_noisy = _data()
    return cleaner.fit(X, y_noisy, X_val=X[:40], y_val=y[:40])


def _child(folder, log, run, delay=0.0):
    X, y, y_noisy = _data()
    _fit(_cleaner(LoggingOracle(y, log, run, delay), folder))
    os._exit(0)


def _asked_by_run(log):
    runs = {}
    if os.path.exists(log):
        for line in open(log).read().splitlines():
            run, *ids = line.split()
            runs.setdefault(int(run), set()).update(map(int, ids))
    return runs


def test_two_processes_one_folder_one_campaign_one_clear_error(tmp_path):
    folder, log = tmp_path / "ckpt", tmp_path / "asked.log"
    child = _FORK.Process(target=_child, args=(folder, log, 0, 0.02))
    child.start()
    while not log.exists():  # the child holds the lock once it asks
        time.sleep(0.01)
    X, y, y_noisy = _data()
    other = LoggingOracle(y, tmp_path / "other.log", 1)
    with pytest.raises(CheckpointLockedError, match=f"process {child.pid} on host"):
        _cleaner(other, folder).fit(X, y_noisy)
    child.join(60)
    assert child.exitcode == 0 and not (tmp_path / "other.log").exists()
    done = _cleaner(other, folder).fit(X, y_noisy)  # resumes the finished one
    assert done.n_rounds_ == N_ROUNDS and done.budget_used_ == N_ROUNDS * BATCH
    assert not (tmp_path / "other.log").exists()  # nothing asked twice


def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    code = (
        "import sys, time\n"
        "from noisyactive.active import CheckpointLock\n"
        "CheckpointLock(sys.argv[1]).acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CheckpointLockedError, match=str(holder.pid)):
            CheckpointLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with CheckpointLock(tmp_path) as lock:  # stale: its process is gone
        assert lock.holder()["pid"] == os.getpid()


# Each answer takes this long in the killed campaigns, so that a round's work,
# not the machine's start-up jitter, sets where a kill lands.
ORACLE_DELAY = 0.1


def _timed_child(folder, log):
    start = time.perf_counter()
    child = _FORK.Process(target=_child, args=(folder, log, 0, ORACLE_DELAY))
    child.start()
    child.join()
    assert child.exitcode == 0
    return time.perf_counter() - start


def _kill_campaign(tmp_path, n_kills, seed=0):
    rng = random.Random(seed)
    folder, log = tmp_path / "ckpt", tmp_path / "asked.log"
    # An uninterrupted run (the reference) and a resume of it (start-up only)
    # calibrate the kills so they land all along the campaign.
    t_full = _timed_child(tmp_path / "ref", tmp_path / "ref.log")
    t_start = min(_timed_child(tmp_path / "ref", tmp_path / "ref.log") for _ in "ab")
    t_work = max(t_full - t_start, 0.05)
    durable = []  # answered indices on disk after each killed run
    # The delay adapts to the machine's speed so the kills land all along
    # the campaign: longer after a kill that saw no progress, shorter after
    # one that saw more than its share.
    target = N_ROUNDS * BATCH / n_kills
    delay = 0.5 * t_start + t_work / n_kills
    for run in range(n_kills):
        child = _FORK.Process(target=_child, args=(folder, log, run, ORACLE_DELAY))
        child.start()
        time.sleep(delay * rng.uniform(0.5, 1.5))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        entries = read_journal(folder) if os.path.isdir(folder) else []
        durable.append({i for e in entries for i in e["indices"]})
        progress = len(durable[-1]) - (len(durable[-2]) if run else 0)
        if progress == 0:  # never longer than an uninterrupted run takes
            delay = min(delay * 1.2, t_full)
        elif progress > target:
            delay *= 0.7
    X, y, y_noisy = _data()
    final = _fit(_cleaner(LoggingOracle(y, log, n_kills), folder))
    reference = load_cleaner(tmp_path / "ref", cleaner=_cleaner(None, tmp_path / "ref"))
    return final, reference, durable, _asked_by_run(log), folder, y


@pytest.mark.parametrize("n_kills", [10, pytest.param(50, marks=pytest.mark.slow)])
def test_random_kill_9_loses_no_answer(tmp_path, n_kills):
    final, reference, durable, asked, folder, y = _kill_campaign(tmp_path, n_kills)
    assert final.n_rounds_ == N_ROUNDS and final.budget_used_ == N_ROUNDS * BATCH
    for a, b in zip(final.queried_indices_, reference.queried_indices_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(final.labels_, reference.labels_)
    for run, answered in enumerate(durable):
        idx = sorted(answered)
        assert final.relabeled_mask_[idx].all()  # kept ...
        np.testing.assert_array_equal(final.labels_[idx], y[idx])
        for later in range(run + 1, n_kills + 1):  # ... and never asked again
            assert not answered & asked.get(later, set())
    # Many kills landed inside the campaign, not all before or after it.
    inside = [0 < len(d) < N_ROUNDS * BATCH for d in durable]
    assert sum(inside) >= n_kills // 4
    assert not [f for f in os.listdir(folder) if f.startswith(".tmp-")]
    # Every resumed history is whole: each round with its metrics, as in the
    # uninterrupted run, and on_round_end was called for every round (again
    # only for a round whose report a kill cut short).
    assert len(final.history_) == len(reference.history_) == N_ROUNDS + 1
    for got, want in zip(final.history_, reference.history_, strict=True):
        assert got == want
    assert all(h["val_macro_f1"] is not None for h in final.history_[1:])
    calls = [int(r) for r in open(f"{folder}-rounds.log").read().split()]
    assert set(calls) == {h["round"] for h in final.history_}
    assert len(calls) <= len(final.history_) + n_kills


def test_lock_is_reentrant_per_thread_not_per_process(tmp_path):
    import threading

    outcome = []

    def take():
        try:
            CheckpointLock(tmp_path).acquire().release()
            outcome.append("taken")
        except CheckpointLockedError:
            outcome.append("busy")

    with CheckpointLock(tmp_path):
        with CheckpointLock(tmp_path):  # the same thread again
            pass
        thread = threading.Thread(target=take)
        thread.start()
        thread.join()
        assert outcome == ["busy"]
        if hasattr(os, "fork"):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child inherits no lock from its parent
                try:
                    take()
                    os.write(write, outcome[-1].encode())
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            assert os.read(read, 16) == b"busy"
    assert not CheckpointLock(tmp_path).held()
    thread = threading.Thread(target=take)
    thread.start()
    thread.join()
    assert outcome[-1] == "taken"  # free again for another thread
