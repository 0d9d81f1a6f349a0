"""skorch's own loop inside the estimators: user callbacks behave as in skorch,
the cosine schedule and the best-validation epoch are skorch machinery, and
training that breaks down says so."""

import inspect
import re

import numpy as np
import pytest
import torch
from skorch.callbacks import Checkpoint, EarlyStopping, LRScheduler, ProgressBar

from noisyactive import NetClassifier, NoisyLabelFilter
from noisyactive._netcore._callbacks import CosineDecay
from noisyactive.base import NETWORK_PARAMS

X = np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(int)
FAST_ONE = dict(module_kwargs={"hidden_sizes": (16,)}, random_state=0)
FAST = dict(FAST_ONE, batch_size=32)


def test_early_stopping_stops_a_filter_fit_early():
    stop = EarlyStopping(monitor="train_loss", patience=2, threshold=1e3)
    filt = NoisyLabelFilter(
        forget_rate=0.2,
        num_gradual=2,
        vog_window=2,
        max_epochs=30,
        callbacks=[stop],
        **FAST,
    ).fit(X, Y)
    # patience 2 with an unreachable threshold: epoch 1 sets the best, 2 and 3
    # do not improve, training stops after 3 of 30 epochs.
    assert len(filt.history_) == 3
    assert filt.clean_mask_.shape == (120,)
    assert np.isfinite(filt.predict_proba(X)).all()


def test_user_lr_scheduler_sets_the_learning_rate():
    sched = LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    clf = NetClassifier(max_epochs=4, lr=0.08, callbacks=[sched], **FAST).fit(X, Y)
    np.testing.assert_allclose(clf.history_[:, "event_lr"], [0.08, 0.04, 0.02, 0.01])
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.005)
    # The default cosine gave way to the user's scheduler.
    assert "lr_scheduler" not in dict(clf.net_.callbacks_)


def test_default_schedule_is_a_cosine_that_never_rises_and_finetune_is_constant():
    clf = NetClassifier(max_epochs=4, lr=0.1, finetune_lr=0.003, **FAST).fit(X, Y)
    lrs = clf.history_[:, "event_lr"]
    np.testing.assert_allclose(lrs, [0.1 * CosineDecay(4)(e) for e in range(4)])
    assert CosineDecay(4)(9) == 0.0 and all(np.diff(lrs) < 0)
    clf.partial_fit(X, Y)
    clf.partial_fit(X, Y)
    assert clf.net_.optimizer_.param_groups[0]["lr"] == 0.003
    assert len(clf.history_) == 6


def test_checkpoint_saves_and_progress_bar_shows_batches(tmp_path, capsys):
    ckpt = Checkpoint(monitor="train_loss_best", dirname=str(tmp_path))
    bar = ProgressBar()
    NetClassifier(max_epochs=2, callbacks=[ckpt, bar], **FAST).fit(X, Y)
    assert (tmp_path / "params.pt").stat().st_size > 0
    # 120 samples in batches of 32: the bar counted 4 batches per epoch.
    assert "0/4 [" in capsys.readouterr().err


def test_best_validation_epoch_is_restored():
    y_val = 1 - Y[:40]  # validation labels opposite to training: the best
    clf = NetClassifier(max_epochs=6, lr=0.1, **FAST)  # epoch is an early one
    clf.fit(X, Y, X_val=X[:40], y_val=y_val)
    f1 = clf.history_[:, "valid_f1"]
    assert clf.best_epoch_ == int(np.argmax(f1))
    from sklearn.metrics import f1_score

    restored = f1_score(y_val, clf.predict(X[:40]), average="macro")
    assert restored == pytest.approx(max(f1))


def test_network_params_declared_once_with_equal_defaults():
    clf = inspect.signature(NetClassifier).parameters
    filt = inspect.signature(NoisyLabelFilter).parameters
    assert len(NETWORK_PARAMS) == 17  # freeze joined with the pretrained backbones
    for name in (*NETWORK_PARAMS, "callbacks", "verbose"):
        assert clf[name].default == filt[name].default, name
    made = NoisyLabelFilter(lr=0.3, batch_size=7)._make_classifier()
    assert (made.lr, made.batch_size) == (0.3, 7)


def test_diverging_loss_raises_with_epoch_batch_and_lr():
    with pytest.raises(
        FloatingPointError, match=r"loss is nan in epoch \d+ at batch \d+ \(lr=\d+"
    ):
        NoisyLabelFilter(lr=1e6, max_epochs=5, forget_rate=0.2, **FAST).fit(X * 1e3, Y)
    with pytest.raises(FloatingPointError, match=r"batch \d+ \(lr=1e\+06\)"):
        NetClassifier(lr=1e6, lr_schedule=None, max_epochs=5, **FAST).fit(X * 1e3, Y)


def test_y_val_with_unknown_classes_is_refused_up_front():
    with pytest.raises(ValueError, match="y_val contains labels not seen"):
        NoisyLabelFilter(max_epochs=1, **FAST).fit(
            X, Y, X_val=X[:5], y_val=[0, 1, 2, 0, 1]
        )
    with pytest.raises(ValueError, match="no label in common"):
        NetClassifier(max_epochs=1, **FAST).fit(X, Y, X_val=X[:3], y_val=[5, 6, 7])


def test_selection_that_keeps_nothing_warns():
    filt = NoisyLabelFilter(
        batch_size=1,
        max_epochs=2,
        forget_rate=0.2,
        num_gradual=1,
        final_selection=None,  # Co-teaching's own (empty) mask
        **FAST_ONE,
    )
    with pytest.warns(UserWarning) as record:
        filt.fit(X[:20], Y[:20])
    messages = [str(w.message) for w in record]
    assert any(re.search("batch_size=1 .* keeps no sample", m) for m in messages)
    assert any("kept no sample in the last epoch" in m for m in messages)
    assert not filt.clean_mask_.any()


def test_progress_and_epoch_table_have_no_ansi_codes_when_not_a_terminal(capsys):
    NoisyLabelFilter(max_epochs=2, forget_rate=0.2, verbose=1, **FAST).fit(
        X, Y, X_val=X[:30], y_val=Y[:30]
    )
    out = capsys.readouterr()
    # skorch's epoch table on stdout (its best values are coloured on a
    # terminal), progress with an ETA on stderr, both plain text here.
    assert "valid_f1" in out.out and "train_loss" in out.out
    assert "NoisyLabelFilter: 1/2 epochs" in out.err and "left" in out.err
    assert "NoisyLabelFilter: 2/2 epochs" in out.err
    assert not re.search(r"\x1b\[|\r", out.out + out.err)


def test_silent_at_verbose_zero(capsys):
    NoisyLabelFilter(max_epochs=2, forget_rate=0.2, **FAST).fit(X, Y)
    NetClassifier(max_epochs=2, **FAST).fit(X, Y).partial_fit(X, Y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_plain_progress_lines_report_rate_and_time_left():
    import io

    from noisyactive.utils._progress import Progress

    stream = io.StringIO()
    bar = Progress(20, "decoding images", unit="img", stream=stream, every=0.5)
    for _ in range(20):
        bar.update()
    lines = stream.getvalue().splitlines()
    # The first step, every 10 of 20, and the end.
    assert [line.split(",")[0] for line in lines] == [
        "decoding images: 1/20 imgs",
        "decoding images: 11/20 imgs",
        "decoding images: 20/20 imgs",
    ]
    assert "left" in lines[0] and lines[-1].endswith("done")


def test_cpu_warns_once_with_an_estimate_when_a_fit_will_take_long():
    # ResNet18 at 32 px for 100,000 epochs: hours on a CPU, whatever the
    # machine. EarlyStopping ends the fit at once.
    X_img = np.random.default_rng(0).integers(0, 256, (24, 3, 32, 32), np.uint8)
    stop = EarlyStopping(monitor="train_loss", patience=0, threshold=1e9)
    clf = NetClassifier(
        module="resnet18",
        max_epochs=100_000,
        batch_size=4,
        device="cpu",
        callbacks=[stop],
        random_state=0,
    )
    with pytest.warns(UserWarning, match=r"about \d+ min on the CPU") as record:
        clf.fit(X_img, np.arange(24) % 2)
    slow = [w for w in record if "on the CPU" in str(w.message)]
    assert len(slow) == 1
    message = str(slow[0].message)
    # only settings that differ from the current ones are suggested
    assert "module='small_cnn' (now 'resnet18')" in message
    assert "fewer max_epochs (now 100000)" in message
    assert "image_size" not in message  # the images are 32 px already
    assert len(clf.history_) <= 2
