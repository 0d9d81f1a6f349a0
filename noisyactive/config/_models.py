"""The networks a configuration describes: the phase-1 filter and the classifier.

Used by a user's campaign (``noisyactive run`` with an oracle) and by the
paper's experiments (``noisyactive demo``, the benchmarks), which build their
variants on top of these two functions.
"""

from noisyactive.classifiers import NetClassifier
from noisyactive.config._schema import as_config
from noisyactive.filtering import NoisyLabelFilter

__all__ = ["FILTER_VARIANTS", "make_classifier", "make_filter", "net_params"]

#: Phase-1 variants: Co-teaching (``ct``), Co-teaching + VOG (``ct_vog``) and
#: their class-quota forms, each with Co-teaching's own clean mask (the paper's;
#: ``final_selection=None``, not the filter's default loss mixture). ``ct_vog``
#: takes mix ratio and normalisation from the configuration.
FILTER_VARIANTS = {
    "ct": dict(mix_ratio=0.0, selection="batch", final_selection=None),
    "ct_vog": dict(selection="batch", final_selection=None),
    "cq": dict(mix_ratio=0.0, selection="class_quota", final_selection=None),
    "cq_vog": dict(selection="class_quota", final_selection=None),
}


def net_params(config, seed):
    """The parameters both networks share."""
    config = as_config(config)
    params = dict(
        module=config.module,
        module_kwargs=config.module_kwargs,
        weights=config.weights,
        freeze=config.freeze,
        cache_dir=config.cache_dir or "auto",
        batch_size=config.batch_size,
        lr=config.lr,
        augment=config.augment,
        device=config.device,
        random_state=seed,
    )
    return params


def make_filter(config, variant, seed, noise_rate, *, epochs=None, forget_rate=None):
    """A :class:`NoisyLabelFilter` for a phase-1 variant of the configuration.

    ``forget_rate`` in the config: ``"true"`` (``noise_rate``, the injected
    rate: an upper reference), ``"auto"`` (the filter's own estimate) or a
    number; the ``forget_rate`` argument overrides it.
    """
    config = as_config(config)
    params = dict(
        net_params(config, seed),
        max_epochs=epochs or config.epochs,
        num_gradual=config.num_gradual,
        vog_window=config.vog_window,
        mix_ratio=config.mix_ratio,
        vog_normalize=config.vog_normalize,
    )
    params.update(FILTER_VARIANTS[variant])
    rate = config.forget_rate
    params["forget_rate"] = noise_rate if rate == "true" else rate
    if forget_rate is not None:
        params["forget_rate"] = forget_rate
    return NoisyLabelFilter(**params)


def make_classifier(config, seed, epochs=None):
    """The plain cross-entropy classifier trained on the clean part."""
    config = as_config(config)
    return NetClassifier(
        **net_params(config, seed), max_epochs=epochs or config.classifier_epochs
    )
