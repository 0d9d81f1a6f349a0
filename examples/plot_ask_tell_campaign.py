"""
==================================================
An annotation campaign over several sessions
==================================================

Experts rarely answer inside a Python call. The *ask/tell* path hands the
questions out as a CSV of image paths (:meth:`~noisyactive.ActiveLabelCleaner.query`),
takes the answers back whenever they come
(:meth:`~noisyactive.ActiveLabelCleaner.teach`) and saves the whole campaign
in a checkpoint folder after every step, so a later session continues with
:func:`~noisyactive.active.load_cleaner` and no answer is ever lost.

Checkpoints hold pickles (the phase-1 estimator, scikit-learn classifiers):
load them only from a source you trust. Network weights are stored as tensors
and read with ``torch.load(..., weights_only=True)``.
"""

# %%
# The data and the images the expert will look at
# ------------------------------------------------
import csv
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression

from noisyactive import NoisyLabelFilter
from noisyactive.active import ActiveLabelCleaner, load_cleaner
from noisyactive.datasets import make_noisy_digits

data = make_noisy_digits(noise_rate=0.4, random_state=0)
X = data.X_train.reshape(len(data.X_train), -1).astype(np.float32) / 255
y_noisy = data.y_train
X_val = data.X_val.reshape(len(data.X_val), -1).astype(np.float32) / 255

workdir = tempfile.mkdtemp()
paths = []
for i, image in enumerate(data.X_train[:, 0]):
    paths.append(os.path.join(workdir, f"digit_{i:04d}.png"))
    Image.fromarray(image).save(paths[-1])  # uint8, 8 x 8
checkpoint = os.path.join(workdir, "campaign")

# %%
# Session 1: phase 1, then the first questions
# --------------------------------------------
# Without an oracle, ``fit`` runs phase 1 and trains the classifier on the
# clean part; nothing is relabeled yet.
cleaner = ActiveLabelCleaner(
    estimator=NoisyLabelFilter(
        module="mlp", max_epochs=20, mix_ratio=0.2, device="cpu", random_state=0
    ),
    classifier=LogisticRegression(max_iter=2000),
    query_strategy="label_cleaning",
    batch_size=20,
    n_rounds=4,
    checkpoint=checkpoint,
    random_state=0,
)
cleaner.fit(X, y_noisy)
questions = os.path.join(workdir, "round_1.csv")
asked = cleaner.query(X, csv_path=questions, paths=paths)
with open(questions) as fh:
    print("".join(fh.readlines()[:4]))

# %%
# The expert answers (here: simulated, one blank answer per round)
# ------------------------------------------------------------------
# In real life the CSV goes to the expert and comes back with a ``label``
# column; we fill it from the true labels and leave one row blank.


def expert_fills_in(csv_in, csv_out):
    with open(csv_in, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for k, row in enumerate(rows):
        truth = data.y_train_true[int(row["index"])]
        row["label"] = "" if k == 0 else str(truth)
    with open(csv_out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_answers(csv_path):
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    indices = np.array([int(r["index"]) for r in rows])
    labels = [int(r["label"]) if r["label"] else None for r in rows]
    return indices, labels


# %%
# Later sessions: restore, teach, ask again
# -----------------------------------------
# Each session starts from the checkpoint alone. ``teach`` applies the answers
# as one round (blank answers abstain: not counted, not asked again) and
# refits; ``query`` hands out the next questions.
for round_ in range(1, 5):
    answers = os.path.join(workdir, f"round_{round_}_answers.csv")
    expert_fills_in(os.path.join(workdir, f"round_{round_}.csv"), answers)

    cleaner = load_cleaner(checkpoint)  # a new session
    indices, labels = read_answers(answers)
    cleaner.teach(X, indices, labels, X_val=X_val, y_val=data.y_val)
    last = cleaner.history_[-1]
    print(
        f"round {last['round']}: {last['n_returned']} answers, "
        f"{last['n_changed']} labels fixed, budget {cleaner.budget_used_}, "
        f"val macro-F1 {last['val_macro_f1']:.3f}"
    )
    if round_ < 4:
        cleaner.query(
            X, csv_path=os.path.join(workdir, f"round_{round_ + 1}.csv"), paths=paths
        )

# %%
# Where the campaign stands
# -------------------------
rounds = [h["round"] for h in cleaner.history_]
fixed = np.cumsum([h["n_changed"] for h in cleaner.history_])
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.bar(rounds, fixed)
ax.set_xlabel("annotation session")
ax.set_ylabel("noisy labels corrected so far")
ax.set_title("Ask/tell campaign")
fig.tight_layout()
plt.show()
