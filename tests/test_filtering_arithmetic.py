"""Pure phase-1 arithmetic on tiny exact arrays, plus property tests."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from noisyactive.filtering import (
    VOGBuffer,
    class_keep_quotas,
    estimate_class_clean_counts,
    estimate_noise_rate,
    forget_rate_schedule,
    n_remember,
    normalize_by_class,
    select_per_class,
    select_small_loss_and_vog,
    split_mix,
    vog_gradients,
)


def test_forget_rate_schedule_ramp_and_plateau():
    rates = [forget_rate_schedule(e, 0.5, num_gradual=10) for e in range(13)]
    assert rates[0] == 0.0
    assert rates[5] == pytest.approx(0.25)
    assert rates[10:] == [0.5, 0.5, 0.5]
    assert forget_rate_schedule(5, 0.5, num_gradual=10, exponent=2) == pytest.approx(
        0.125
    )
    assert forget_rate_schedule(0, 0.3, num_gradual=0) == 0.3


def test_n_remember_floors_like_coteaching():
    assert n_remember(128, 0.4) == 76  # int(0.6 * 128) = 76
    assert n_remember(10, 0.3) == 7
    assert n_remember(3, 0.0) == 3


def test_split_mix_paper_rule():
    assert split_mix(10, 0.2) == (8, 2)
    assert split_mix(9, 0.2) == (8, 1)  # ceil(7.2) = 8, floor(1.8) = 1
    assert split_mix(5, 1.0) == (0, 5)
    assert split_mix(76, 0.0) == (76, 0)


def test_selection_exact_small_loss_then_vog():
    loss = torch.tensor([0.5, 0.1, 0.4, 0.9, 0.2, 0.8])
    vog = torch.tensor([0.0, 9.0, 9.0, 0.1, 9.0, 0.2])
    # R = 4, m = 0.5: R1 = 2 by loss -> [1, 4]; R2 = 2 smallest VOG of the rest
    # ([0, 2, 3, 5] with VOG 0.0, 9.0, 0.1, 0.2) -> [0, 3].
    assert select_small_loss_and_vog(loss, vog, 4, 0.5).tolist() == [1, 4, 0, 3]
    assert select_small_loss_and_vog(loss, vog, 4, 0.0).tolist() == [1, 4, 2, 0]
    assert select_small_loss_and_vog(loss, None, 4, 0.5).tolist() == [1, 4, 2, 0]


def test_selection_ties_keep_batch_order():
    loss = torch.tensor([0.3, 0.3, 0.3, 0.3])
    assert select_small_loss_and_vog(loss, None, 2, 0.0).tolist() == [0, 1]


@settings(max_examples=60, deadline=None)
@given(
    losses=st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=40),
    mix=st.floats(0, 1),
    keep_share=st.floats(0, 1),
    seed=st.integers(0, 1000),
)
def test_selection_properties(losses, mix, keep_share, seed):
    loss = torch.tensor(losses)
    vog = torch.rand(len(losses), generator=torch.Generator().manual_seed(seed))
    b = len(losses)
    r = int(keep_share * b)
    sel = select_small_loss_and_vog(loss, vog, r, mix)
    assert sel.numel() == r <= b  # never more than the batch
    assert sel.unique().numel() == r  # the loss part and the VOG part are disjoint
    r1, r2 = split_mix(r, mix)
    assert r1 + r2 == r and r1 >= (1 - mix) * r - 1e-9
    # The loss part is exactly the r1 smallest losses.
    assert sel[:r1].tolist() == torch.argsort(loss, stable=True)[:r1].tolist()
    # m = 0 is plain Co-teaching whatever the VOG.
    plain = select_small_loss_and_vog(loss, vog, r, 0.0)
    assert plain.tolist() == torch.argsort(loss, stable=True)[:r].tolist()


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 4), nn.Tanh())
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.body(x))


def test_vog_closed_form_equals_autograd_per_sample_gradient():
    torch.manual_seed(0)
    net = _Tiny().double()
    x = torch.randn(6, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    h = net.body(x)
    closed = vog_gradients(net.fc(h), h, y)
    for i in range(6):
        net.zero_grad()
        loss = nn.functional.cross_entropy(net(x[i : i + 1]), y[i : i + 1])
        loss.backward()
        expected = torch.cat(
            [net.fc.bias.grad[y[i]].reshape(1), net.fc.weight.grad[y[i]]]
        ).float()
        torch.testing.assert_close(closed[i], expected, rtol=1e-5, atol=1e-6)


def test_vog_gradient_has_no_batch_size_factor():
    logits = torch.zeros(1, 2)
    h = torch.ones(1, 3)
    one = vog_gradients(logits, h, torch.tensor([0]))
    many = vog_gradients(logits.repeat(64, 1), h.repeat(64, 1), torch.zeros(64).long())
    torch.testing.assert_close(many[0], one[0])


def test_vog_ring_buffer_window_and_order():
    buf = VOGBuffer(n_samples=3, dim=2, window=3)
    values = [1.0, 2.0, 4.0, 8.0]
    for epoch, v in enumerate(values):
        # Samples arrive in a different order every epoch.
        order = torch.tensor([2, 0, 1]) if epoch % 2 else torch.tensor([0, 1, 2])
        buf.write(order, torch.full((3, 2), v) * (order[:, None] + 1))
        buf.end_epoch()
        assert buf.ready == (epoch >= 2)
    # Window = the last 3 epochs (2, 4, 8) times (sample + 1).
    expected = np.std([2.0, 4.0, 8.0]) * np.array([1, 2, 3])
    np.testing.assert_allclose(buf.scores().numpy(), expected, rtol=1e-6)
    assert buf.nbytes == 3 * 3 * 2 * 4
    half = VOGBuffer(3, 2, 3, dtype=torch.float16)
    assert half.nbytes == buf.nbytes // 2


def test_vog_scores_chunked_equals_unchunked():
    buf = VOGBuffer(50, 4, 2)
    buf.data.copy_(torch.randn(50, 2, 4, generator=torch.Generator().manual_seed(1)))
    torch.testing.assert_close(buf.scores(chunk_size=7), buf.scores())


def test_normalize_by_class_zscores():
    s = torch.tensor([1.0, 2.0, 3.0, 5.0, 5.0, 7.0])
    z = normalize_by_class(s, torch.tensor([0, 0, 0, 1, 1, 2]), 3)
    np.testing.assert_allclose(z[:3].numpy(), [-1.2247449, 0.0, 1.2247449], rtol=1e-6)
    assert z[3:].tolist() == [0.0, 0.0, 0.0]  # zero spread / singleton: centred only


def test_class_clean_counts_inverts_symmetric_noise():
    true = np.array([600.0, 150.0, 50.0])
    tau, k = 0.2, 3
    noisy = true * (1 - tau) + (true.sum() - true) * tau / (k - 1)
    np.testing.assert_allclose(
        estimate_class_clean_counts(noisy, tau), true * (1 - tau), rtol=1e-9
    )
    t = np.full((3, 3), tau / 2) + np.eye(3) * (1 - 1.5 * tau)
    np.testing.assert_allclose(
        estimate_class_clean_counts(noisy, None, transition_matrix=t),
        true * (1 - tau),
        rtol=1e-9,
    )


def test_class_keep_quotas_bounds():
    q = class_keep_quotas([100, 10, 3, 0], [60.0, 0.2, 3.0, 0.0], 1.0)
    assert q.tolist() == [60, 1, 3, 0]  # every non-empty class keeps at least one
    assert class_keep_quotas([100, 10], [60.0, 2.0], 0.0).tolist() == [100, 10]


def test_select_per_class_exact_and_mix():
    loss = torch.tensor([0.1, 0.5, 0.2, 0.9, 0.3, 0.4])
    labels = torch.tensor([0, 0, 0, 0, 1, 1])
    vog = torch.tensor([9.0, 9.0, 9.0, 0.0, 9.0, 9.0])
    keep = select_per_class(loss, None, labels, [2, 1], 0.0)
    assert keep.tolist() == [True, False, True, False, True, False]
    # m = 0.5, class 0 quota 2: 1 by loss (index 0), 1 by VOG among the rest (3).
    keep = select_per_class(loss, vog, labels, [2, 1], 0.5)
    assert keep.tolist() == [True, False, False, True, True, False]
    # m = 0 with VOG given is still per-class small loss.
    assert select_per_class(loss, vog, labels, [2, 1], 0.0).tolist() == [
        True,
        False,
        True,
        False,
        True,
        False,
    ]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    k=st.integers(1, 5),
    mix=st.floats(0, 1),
    seed=st.integers(0, 999),
)
def test_select_per_class_meets_quotas(n, k, mix, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, k, (n,), generator=g)
    counts = np.bincount(labels.numpy(), minlength=k)
    quotas = class_keep_quotas(counts, counts * 0.5, 1.0)
    keep = select_per_class(
        torch.rand(n, generator=g), torch.rand(n, generator=g), labels, quotas, mix
    )
    kept = np.bincount(labels[keep].numpy(), minlength=k)
    assert kept.tolist() == quotas.tolist()
    assert all(kept[c] >= 1 for c in range(k) if counts[c])


def test_estimate_noise_rate_bimodal_and_degenerate():
    rng = np.random.default_rng(0)
    losses = np.r_[rng.normal(0.1, 0.05, 600), rng.normal(2.5, 0.4, 400)]
    assert estimate_noise_rate(losses) == pytest.approx(0.4, abs=0.02)
    assert estimate_noise_rate(np.ones(10)) == 0.0


# --- the Co-teaching epoch protocol -------------------------------------------
def test_warmup_forget_rate_follows_estimates_then_freezes_to_late_median():
    from noisyactive.filtering import warmup_forget_rate

    assert warmup_forget_rate([], 0, 4) == (0.0, False)
    assert warmup_forget_rate([0.2, 0.4, 0.1], 3, 4) == (0.1, False)
    # At the end of the warm-up: median of the second half [0.1, 0.5].
    assert warmup_forget_rate([0.2, 0.4, 0.1, 0.5], 4, 4) == (0.3, True)
    assert warmup_forget_rate([0.3], 0, 0) == (0.3, True)


def test_uses_vog_needs_mix_warmup_and_full_window():
    from noisyactive.filtering import uses_vog

    assert uses_vog(0.5, 4, 4, True)
    assert not uses_vog(0.5, 3, 4, True)
    assert not uses_vog(0.5, 4, 4, False)
    assert not uses_vog(0.0, 9, 4, True)


def test_cross_update_trains_each_network_on_the_others_choice():
    from noisyactive.filtering import cross_update_loss, cross_update_loss_masked

    l1 = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    l2 = torch.tensor([10.0, 20.0, 30.0, 40.0], requires_grad=True)
    by1, by2 = torch.tensor([0, 1]), torch.tensor([3])
    loss = cross_update_loss(l1, l2, by1, by2)
    assert loss.item() == 4.0 + 15.0
    loss.backward()
    assert l1.grad.tolist() == [0, 0, 0, 1.0]  # network 1 learns from 2's choice
    assert l2.grad.tolist() == [0.5, 0.5, 0, 0]
    masked = cross_update_loss_masked(
        l1, l2, torch.tensor([1.0, 1, 0, 0]), torch.tensor([0, 0, 0, 1.0])
    )
    assert masked.item() == loss.item()
    empty = torch.tensor([], dtype=torch.long)
    zero = cross_update_loss(l1, l2, empty, empty)
    assert zero.item() == 0.0 and zero.requires_grad
    assert cross_update_loss(l1, l2, empty, by2).item() == 4.0
