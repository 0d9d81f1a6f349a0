"""
======================================================
Does the filter keep the rare classes?
======================================================

The paper's Table 1 question. Small-loss selection (Co-teaching) keeps
samples whose label the networks find easy, and the samples of a rare class
are hard *because* the class is rare — so plain Co-teaching throws most of
them away, correct labels included. Two remedies are compared here:

- ``mix_ratio > 0``: a share of the kept samples is chosen by the Variance of
  Gradients (VOG), which does not single out rare classes (the paper);
- ``selection="class_quota"``: each noisy class keeps its own estimated number
  of clean samples, so no class can be emptied (this package's addition).

For every class we measure the **recall of truly clean samples**: of the
training samples whose noisy label is in fact correct, the share the filter
kept. Precision (the share of kept samples whose label is correct) is the
other side of the trade-off.
"""

# %%
# Long-tailed, 40 % noisy digits
# ------------------------------
import matplotlib.pyplot as plt
import numpy as np

from noisyactive import NoisyLabelFilter
from noisyactive.datasets import make_noisy_digits

data = make_noisy_digits(noise_rate=0.4, as_float=True, random_state=0)
X = data.X_train.reshape(len(data.X_train), -1)
y_noisy, y_true = data.y_train, data.y_train_true
truly_clean = y_noisy == y_true
classes = data.classes
print("training samples per class:", np.bincount(y_true, minlength=10))
print("correctly labeled per class:", np.bincount(y_true[truly_clean], minlength=10))


def per_class_recall(kept):
    """Share of each class's truly clean samples that the filter kept."""
    hit = np.bincount(y_true[kept & truly_clean], minlength=len(classes))
    total = np.bincount(y_true[truly_clean], minlength=len(classes))
    return hit / np.maximum(total, 1)


# %%
# Four filters, two seeds each
# ----------------------------
# The forget rate is set to the true noise rate (0.4), as in the paper, so the
# filters differ only in *which* samples they keep. A small MLP trains for 20
# epochs; VOG takes over its share after a 5-epoch warm-up with a 3-epoch
# window. Results of a class with a handful of clean samples vary from seed to
# seed, so each setting is averaged over two seeds.
# ``final_selection=None`` keeps Co-teaching's own mask (the paper's); the
# filter's default replaces plain Co-teaching's by per-class loss mixtures.
settings = {
    "Co-teaching (m = 0)": dict(mix_ratio=0.0, final_selection=None),
    "loss mixtures (m = 0, default)": dict(mix_ratio=0.0),
    "Co-teaching + VOG (m = 0.5)": dict(mix_ratio=0.5),
    "class quotas (m = 0)": dict(mix_ratio=0.0, selection="class_quota"),
    "class quotas + VOG (m = 0.5)": dict(mix_ratio=0.5, selection="class_quota"),
}
common = dict(
    module="mlp",
    forget_rate=0.4,
    num_gradual=5,
    vog_window=3,
    max_epochs=20,
    lr=0.05,
    device="cpu",
)
seeds = [0, 1]
recall, precision = {}, {}
for name, params in settings.items():
    masks = [
        NoisyLabelFilter(**common, **params, random_state=seed)
        .fit(X, y_noisy)
        .clean_mask_
        for seed in seeds
    ]
    recall[name] = np.mean([per_class_recall(m) for m in masks], axis=0)
    precision[name] = np.mean([truly_clean[m].mean() for m in masks])

rare = classes[-3:]  # the three smallest digits
print(f"{'setting':30s} precision  recall, digits {rare.tolist()}")
for name in settings:
    print(f"{name:30s} {precision[name]:9.2f}  {recall[name][rare].mean():6.2f}")

# %%
# Per-class recall of the clean samples
# -------------------------------------
# Classes are ordered from the most to the least frequent.
fig, ax = plt.subplots(figsize=(9, 5))
width = 0.8 / len(settings)
for k, name in enumerate(settings):
    ax.bar(
        classes + (k - (len(settings) - 1) / 2) * width,
        recall[name],
        width,
        label=f"{name}, precision {precision[name]:.2f}",
    )
counts = np.bincount(y_true[truly_clean], minlength=len(classes))
ax.set_xticks(classes, [f"{c}\n({n})" for c, n in zip(classes, counts)])
ax.set_xlabel("digit (correctly labeled training samples)")
ax.set_ylabel("recall of truly clean samples")
ax.set_ylim(0, 1.05)
ax.set_title("Which clean samples does the filter keep? (mean of 2 seeds)")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize="small")
fig.tight_layout()
plt.show()

# %%
# With the paper's per-batch rule and ``m = 0`` the rarest digits lose most
# of their clean samples. VOG brings many of them back, at a cost in
# precision. The default's per-class loss mixtures judge each class against
# its own losses and keep samples of every class. Class quotas keep every
# class represented at close to Co-teaching's precision; but inside a rare
# class whose noisy labels are mostly wrong, the smallest losses do not
# always point at the truly clean samples. How each choice then pays off
# downstream is measured by the benchmarks (:ref:`reproducing`).
#
# What ``forget_rate="auto"`` estimates
# -------------------------------------
# Without the true noise rate, ``forget_rate="auto"`` estimates it with
# ``noise_estimator``. The default, ``"cross_fit"``, runs *before* training:
# the filter's own network (a :class:`~noisyactive.NetClassifier` at half of
# ``max_epochs``) is cross-fitted three times over two stratified folds, so
# every sample is predicted by a network that never saw its label; the
# confident joint of those out-of-sample probabilities gives a noise rate per
# noisy class, and the agreement between the cross-fits corrects the global
# rate for the network's own errors. Everything is in ``noise_estimate_``.
#
# ``noise_estimator="loss_mixture"`` trains nothing extra: during the warm-up
# a two-component Gaussian mixture on the previous epoch's per-sample
# log-losses takes the high-loss component as the noisy share; the rate
# freezes at the median of the warm-up's second half
# (``noise_estimate_.epoch_rates`` holds every warm-up epoch's estimate) and
# the per-class rates follow the symmetric formula.
estimators = {}
for method in ("cross_fit", "loss_mixture"):
    filt = NoisyLabelFilter(
        **{**common, "forget_rate": "auto"}, noise_estimator=method, random_state=0
    )
    estimators[method] = filt.fit(X, y_noisy)
    print(
        f"{method:12s} forget_rate_ = {filt.forget_rate_:.2f} "
        f"(± {filt.forget_rate_std_:.2f})"
    )
print(f"true share of wrong labels: {1 - truly_clean.mean():.2f}")
print(
    "loss mixture per warm-up epoch:",
    np.round(estimators["loss_mixture"].noise_estimate_.epoch_rates, 2),
)

# %%
# Per class, against the truth: the share of each noisy class whose label is
# wrong.
true_rates = np.array([np.mean(~truly_clean[y_noisy == c]) for c in classes])
fig, ax = plt.subplots(figsize=(9, 4))
width = 0.27
ax.bar(classes - width, true_rates, width, label="true", color="0.6")
for k, (method, filt) in enumerate(estimators.items()):
    ax.bar(classes + k * width, filt.class_noise_rates_, width, label=method)
ax.set_xticks(classes)
ax.set_xlabel("noisy label")
ax.set_ylabel("share of wrong labels")
ax.set_title('forget_rate="auto": estimated noise rate per noisy class')
ax.legend()
fig.tight_layout()
plt.show()

# %%
# On this small, long-tailed set both estimates come out above the true share
# of wrong labels (see the printed rates): a 10-epoch MLP on a few hundred
# samples makes errors of its own, which the cross-fit's agreement correction
# removes only in part. The cross-fit's per-class rates still follow the shape
# of the truth, higher for the rarer digits; the loss mixture's single global
# rate, spread over the classes by the symmetric formula, leaves the rare
# digits with almost no clean sample. ``benchmarks/bench_noise_rate.py``
# measures both, global and per class, at p = 0.2 to 0.8 (results in
# ``benchmarks/RESULTS.md``). When the noise rate is known (or bounded) from
# the labeling process, pass it, as the four filters above do.
