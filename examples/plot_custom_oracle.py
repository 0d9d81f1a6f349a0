"""
===========================================
Plug your own expert in as an oracle
===========================================

An *oracle* is any function ``oracle(ids, X_subset) -> labels``. The cleaner
calls it once per round with the samples its query strategy picked, and puts
the answers in place of the noisy labels. Here the expert's answers live in a
CSV file (as they would when a dermatologist fills in a spreadsheet); the
oracle reads it, answers what the expert answered and abstains (``None``) where
the expert left the label blank. Abstentions are not counted against the
budget and those samples are not asked again.

It runs on the embedded long-tailed, noisy digits on CPU in a few seconds.
"""

# %%
# Noisy, long-tailed data
# -----------------------
# 40 % of the training labels are flipped to another digit; validation and
# test labels are clean.
import csv
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from noisyactive import NoisyLabelFilter
from noisyactive.active import ActiveLabelCleaner
from noisyactive.datasets import make_noisy_digits

data = make_noisy_digits(noise_rate=0.4, as_float=True, random_state=0)


def flat(images):
    return images.reshape(len(images), -1)


X, y_noisy = flat(data.X_train), data.y_train
X_val, X_test = flat(data.X_val), flat(data.X_test)
print(f"{len(X)} training samples, {data.noise_mask.mean():.0%} labels wrong")

# %%
# The expert's spreadsheet
# ------------------------
# We simulate the expert: a CSV with one row per sample id and the true label,
# left blank for 10 % of the samples (the expert could not decide).
folder = tempfile.mkdtemp()
answers_csv = os.path.join(folder, "expert_answers.csv")
rng = np.random.default_rng(0)
with open(answers_csv, "w", newline="") as fh:
    writer = csv.writer(fh)
    writer.writerow(["sample_id", "label"])
    for i, label in enumerate(data.y_train_true):
        writer.writerow([i, "" if rng.random() < 0.1 else int(label)])

# %%
# The oracle: a plain function
# ----------------------------
# ``ids`` are row indices into ``X`` (pass ``sample_ids=`` to ``fit`` to get
# your own ids, e.g. file names). Return one label per id, ``None`` to abstain.


def spreadsheet_expert(ids, X_subset):
    with open(answers_csv, newline="") as fh:
        sheet = {int(row["sample_id"]): row["label"] for row in csv.DictReader(fh)}
    return [int(sheet[i]) if sheet[i] != "" else None for i in ids]


# %%
# Clean the labels
# ----------------
# Phase 1 (Co-teaching with a VOG mix, a small MLP here) keeps a clean part;
# then 6 rounds of 15 questions, picked by entropy, go to the expert. A
# logistic regression keeps each refit fast.
cleaner = ActiveLabelCleaner(
    estimator=NoisyLabelFilter(
        module="mlp", max_epochs=20, mix_ratio=0.2, device="cpu", random_state=0
    ),
    classifier=LogisticRegression(max_iter=2000),
    query_strategy="entropy",
    oracle=spreadsheet_expert,
    batch_size=15,
    n_rounds=6,
    random_state=0,
    verbose=1,
)
cleaner.fit(X, y_noisy, X_val=X_val, y_val=data.y_val)

kept = cleaner.initial_clean_mask_
print(
    f"phase 1 kept {kept.sum()} samples, "
    f"{(y_noisy[kept] == data.y_train_true[kept]).mean():.0%} of them correct"
)
print(
    f"{cleaner.budget_used_} labels used, "
    f"{cleaner.abstained_mask_.sum()} abstentions (not counted)"
)
log = cleaner.relabel_log_
print(f"{(log['old_label'] != log['new_label']).sum()} of the answers fixed a label")
test_f1 = f1_score(data.y_test, cleaner.predict(X_test), average="macro")
print(f"test macro-F1 after cleaning: {test_f1:.3f}")

# %%
# What each round bought
# ----------------------
# ``history_`` has one entry per round: labels returned, labels changed,
# budget used and, with validation data, the classifier's macro-F1.
budget = [h["budget_used"] for h in cleaner.history_]
changed = np.cumsum([h["n_changed"] for h in cleaner.history_])
val_f1 = [h["val_macro_f1"] for h in cleaner.history_]
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
left.plot(budget, changed, marker="o")
left.set_xlabel("labels from the expert (budget used)")
left.set_ylabel("noisy labels corrected")
left.set_title("Corrections")
right.plot(budget, val_f1, marker="o", color="tab:orange")
right.set_xlabel("labels from the expert (budget used)")
right.set_ylabel("validation macro-F1")
right.set_title("Classifier after each round")
fig.tight_layout()
plt.show()
