"""How long the expert waits for ``noisyactive query``, ``teach`` and ``export``.

A 600-image campaign is built once, the way a user builds one: image files, a
``path,label`` CSV (31 % of the labels flipped at random), a config with
``"oracle": "ask"`` (64 px, ``small_cnn``, a few epochs) and ``noisyactive
run`` of this tree (its checkpoint keeps the classifier's predictions, which
``query`` and ``export`` read; an older tree given to ``--compare`` reads the
same folder and ignores them). It is cached in ``--work`` (default
``~/.cache/noisyactive/bench_cli``) and rebuilt when missing or built by an
earlier version of this script. The images are 600 HAM10000 dermatoscopy JPEGs
(600 x 450) from ``--ham`` when that folder exists, else generated PNGs of the
same size.

Then, ``--repeats`` times, on a fresh copy of the campaign's checkpoint:

1. ``noisyactive query CKPT --csv questions.csv`` (the first round's questions),
2. ``noisyactive teach CKPT answers.csv`` (5 answers: a small CSV, no refit),
3. ``noisyactive export CKPT labels.csv``,

each a subprocess timed by its wall clock; medians are reported. With
``--compare SRC`` the same commands also run with another source tree on
``PYTHONPATH`` (e.g. the code before a change), interleaved with this tree's,
so both see the same load. ``python -X importtime`` of each command shows
where the start-up time goes (the largest top-level packages), and the time
of ``python -c "import numpy, sklearn.base, torch, skorch"`` is the floor of
any command that rebuilds the cleaner from its checkpoint.

Usage::

    python benchmarks/bench_cli_speed.py --out cli_speed.json
    python benchmarks/bench_cli_speed.py --compare /path/to/old/tree
"""

import argparse
import csv
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
N_IMAGES = 600
NOISE = 0.31
COMMANDS = ("query", "teach", "export")
BUILD = 2  # 2: built by this tree's `run` (1: by the --compare tree)
FLOOR = "import numpy, sklearn.base, torch, skorch"
CONFIG = {
    "dataset": "csv",
    "path": "labels.csv",
    "path_column": "path",
    "label_column": "label",
    "image_size": 64,
    "module": "small_cnn",
    "epochs": 4,
    "classifier_epochs": 3,
    "batch_size": 64,
    "lr": 0.05,
    "forget_rate": "auto",
    "mix_ratio": 0.5,
    "query_strategy": "entropy",
    "budget_per_round": 40,
    "n_rounds": 4,
    "refit": "finetune",
    "seed": 0,
    "oracle": "ask",
    "checkpoint": "campaign",
}


def _ham_rows(ham):
    meta = Path(ham) / "metadata.csv"
    with open(meta, newline="") as fh:
        rows = list(csv.DictReader(fh))
    rng = random.Random(0)
    rng.shuffle(rows)
    return [(str(Path(ham) / "images" / f"{r['image_id']}.jpg"), r["dx"]) for r in rows]


def _generated_rows(folder):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    classes = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(N_IMAGES):
        k = i % len(classes)
        base = rng.integers(0, 256, size=3) // 2 + 16 * k
        img = rng.normal(base, 30, size=(450, 600, 3)).clip(0, 255).astype("uint8")
        path = folder / f"img{i:04d}.png"
        Image.fromarray(img).save(path)
        rows.append((str(path), classes[k]))
    return rows


def build_campaign(work, ham, python, src):
    """The campaign folder in ``work`` (built when missing)."""
    work = Path(work)
    done = work / "built.json"
    if done.is_file():
        info = json.loads(done.read_text())
        if info.get("build") == BUILD:
            return info
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if ham and (Path(ham) / "metadata.csv").is_file():
        rows, images = _ham_rows(ham)[:N_IMAGES], f"HAM10000 ({ham})"
    else:
        rows, images = _generated_rows(work / "images"), "generated PNGs"
    classes = sorted({label for _, label in rows})
    rng = random.Random(1)
    flipped = 0
    with open(work / "labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label"])
        for path, label in rows:
            if rng.random() < NOISE:
                label = rng.choice([c for c in classes if c != label])
                flipped += 1
            writer.writerow([path, label])
    (work / "campaign.json").write_text(json.dumps(CONFIG, indent=1))
    start = time.perf_counter()
    log = open(work / "run.log", "w")
    proc = subprocess.run(
        [python, "-m", "noisyactive", "run", "--config", "campaign.json"]
        + ["--out", "report"],
        cwd=work,
        env=_env(src),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    if proc.returncode:
        sys.exit(f"noisyactive run failed; see {work / 'run.log'}")
    info = {
        "images": images,
        "n": len(rows),
        "flipped": flipped,
        "run_s": round(time.perf_counter() - start, 1),
        "config": CONFIG,
        "build": BUILD,
    }
    done.write_text(json.dumps(info, indent=1))
    return info


def _env(src):
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    env.pop("PYTHONWARNINGS", None)
    return env


def _timed(cmd, cwd, src):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(src), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, proc.stdout + proc.stderr


def _answers(questions, answers, k=5):
    with open(questions, newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    labels = [c for c in fields if c not in ("index", "path", "label")]
    with open(answers, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        for row in rows[:k]:
            row["label"] = row.get("current_label") or row.get(labels[0], "")
            writer.writerow(row)


def one_pass(work, python, src, tag):
    """Copy the campaign, then time query, teach, export; seconds per command."""
    scratch = Path(work) / f"scratch-{tag}"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()
    ckpt = scratch / "campaign"
    shutil.copytree(Path(work) / "campaign", ckpt)
    nact = [python, "-m", "noisyactive"]
    times, out = {}, {}
    q = scratch / "questions.csv"
    times["query"], out["query"] = _timed(
        nact + ["query", str(ckpt), "--csv", str(q)], scratch, src
    )
    _answers(q, scratch / "answers.csv")
    times["teach"], out["teach"] = _timed(
        nact + ["teach", str(ckpt), str(scratch / "answers.csv")], scratch, src
    )
    times["export"], out["export"] = _timed(
        nact + ["export", str(ckpt), str(scratch / "export.csv")], scratch, src
    )
    shutil.rmtree(scratch)
    return times, out


HEAVY = ("torch", "torch._dynamo", "skorch", "torchvision", "flask", "sklearn")


def _import_table(stderr):
    """``{top-level package: cumulative ms}`` and every module name of a
    ``python -X importtime`` report."""
    top, names = {}, set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cum, raw = line[len("import time:") :].split("|")
        if not cum.strip().isdigit():
            continue
        names.add(raw.strip())
        if raw.startswith(" ") and not raw.startswith("  "):  # not nested
            root = raw.strip().split(".")[0]
            top[root] = top.get(root, 0) + int(cum) / 1e3
    return top, names


def import_profile(python, src, work):
    """Per command (``query``, ``export``): ``python -X importtime`` of the real
    command, the largest top-level packages (ms), the total, and which heavy
    packages it imported."""
    out = {}
    for name in ("query", "export"):
        scratch = Path(work) / "scratch-imports"
        if scratch.exists():
            shutil.rmtree(scratch)
        shutil.copytree(Path(work) / "campaign", scratch / "campaign")
        c = str(scratch / "campaign")
        argv = {
            "query": ["query", c, "--csv", str(scratch / "q.csv")],
            "export": ["export", c, str(scratch / "e.csv")],
        }[name]
        proc = subprocess.run(
            [python, "-X", "importtime", "-m", "noisyactive", *argv],
            cwd=scratch,
            env=_env(src),
            capture_output=True,
            text=True,
        )
        top, names = _import_table(proc.stderr)
        biggest = dict(sorted(top.items(), key=lambda kv: -kv[1])[:6])
        out[name] = {
            "total_ms": round(sum(top.values())),
            "largest_ms": {k: round(v) for k, v in biggest.items()},
            "heavy": [m for m in HEAVY if m in names],
        }
        shutil.rmtree(scratch)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--work", default=str(Path.home() / ".cache/noisyactive/bench_cli")
    )
    parser.add_argument("--ham", default="/work/shared/data/ham10000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare", default=None, help="another source tree")
    parser.add_argument("--out", default="cli_speed.json")
    args = parser.parse_args(argv)
    python = sys.executable
    trees = {"this tree": HERE}
    if args.compare:
        trees = {"compare": Path(args.compare).resolve(), "this tree": HERE}
    info = build_campaign(args.work, args.ham, python, HERE)
    print(
        f"campaign: {info['n']} images ({info['images']}), {info['flipped']} labels "
        f"flipped, 64 px small_cnn; `noisyactive run` took {info['run_s']} s"
    )
    load_before = os.getloadavg()
    times = {t: {c: [] for c in COMMANDS} for t in trees}
    floor = []
    for r in range(args.repeats):
        order = list(trees) if r % 2 == 0 else list(trees)[::-1]
        for tag in order:
            t, _ = one_pass(args.work, python, trees[tag], tag.replace(" ", "_"))
            for c in COMMANDS:
                times[tag][c].append(t[c])
        floor.append(_timed([python, "-c", FLOOR], args.work, HERE)[0])
    load_after = os.getloadavg()
    medians = {
        t: {c: round(statistics.median(v), 2) for c, v in cs.items()}
        for t, cs in times.items()
    }
    imports = {t: import_profile(python, src, args.work) for t, src in trees.items()}
    head = f"{'command':<10}" + "".join(f"{t:>14}" for t in trees)
    print(f"\nwall seconds, median of {args.repeats} (subprocess, 1 OMP thread)")
    print(head)
    for c in COMMANDS:
        print(f"{c:<10}" + "".join(f"{medians[t][c]:>14.2f}" for t in trees))
    for t in trees:
        for name, p in imports[t].items():
            ms = ", ".join(f"{k} {v}" for k, v in p["largest_ms"].items())
            print(
                f"[{t}] {name}: imports {p['total_ms']} ms ({ms}); "
                f"heavy: {', '.join(p['heavy'])}"
            )
    print(
        f"\nfloor: `python -c '{FLOOR}'` takes {statistics.median(floor):.2f} s "
        "(what any command that rebuilds the cleaner imports)"
    )
    print(f"\nload average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    result = {
        "campaign": info,
        "repeats": args.repeats,
        "trees": {t: str(s) for t, s in trees.items()},
        "seconds": times,
        "median_s": medians,
        "imports": imports,
        "floor_s": floor,
        "loadavg": {"before": load_before, "after": load_after},
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
