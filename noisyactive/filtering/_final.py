"""The filter's final selection and its per-sample issue table.

At the end of :meth:`NoisyLabelFilter.fit` the per-sample records of training
(losses of both networks, VOG, selection rates, the last epoch's Co-teaching
selection, and the extra recordings a rule asks for) go into a
:class:`~noisyactive.filtering._rules.SelectionContext`; the rule named by
``final_selection`` decides ``clean_mask_`` (None keeps Co-teaching's own), and
``issue_table_`` lists the scores behind the decision.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from noisyactive.filtering._rules import (
    SelectionContext,
    make_rule,
    resolve_final_selection,
)

__all__ = ["FinalSelectionMixin", "issue_table"]


def issue_table(columns):
    """A pandas DataFrame of ``columns`` when pandas is importable, else the
    dict of equal-length numpy columns itself."""
    columns = {name: np.asarray(values) for name, values in columns.items()}
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        return columns
    return pd.DataFrame(columns)


class FinalSelectionMixin:
    """``final_selection`` / ``final_quota`` and ``issue_table_`` of
    :class:`~noisyactive.NoisyLabelFilter`."""

    def _resolved(self, final_selection):
        """``final_selection`` with ``"auto"`` resolved against ``selection``
        and ``mix_ratio``."""
        return resolve_final_selection(final_selection, self.selection, self.mix_ratio)

    def _selection_recordings(self):
        """The extra recordings the final selection needs during training."""
        rule = make_rule(self._resolved(self.final_selection))
        return frozenset() if rule is None else frozenset(rule.needs)

    def _finish_selection(self, X, y_enc, result):
        """Records of training, the final ``clean_mask_`` and ``issue_table_``
        (X as prepared for the network)."""
        oos = getattr(self.noise_estimate_, "pred_probs", None)
        self._selection_records = {
            "labels": y_enc,
            "loss_per_net": result["loss_per_net"],
            "vog_predicted": result.get("vog_predicted"),
            "vog_eval": result.get("vog_eval"),
            "coteaching_mask": result["clean_mask"],
            "proba": self.net_.predict_proba_arrays(X),
            "oos_proba": None if oos is None else np.mean(oos, axis=0),
        }
        keep, table = self._decide(
            X, self._resolved(self.final_selection), self.final_quota
        )
        self.clean_mask_ = keep
        self.issue_table_ = table

    def _decide(self, X, final_selection, final_quota):
        rec = self._selection_records
        rule = make_rule(final_selection)
        missing = set() if rule is None else set(rule.needs)
        missing -= {k for k in ("vog_predicted", "vog_eval") if rec[k] is not None}
        if missing:
            raise ValueError(
                f"The final selection {rule.name!r} needs {sorted(missing)} recorded "
                "during training; fit with a final_selection that needs them."
            )
        labels = rec["labels"]
        columns = {
            "given_label": self.classes_[labels],
            "suggested_label": self.classes_[rec["proba"].argmax(1)],
            "loss": self.loss_scores_,
            "vog": self.vog_scores_,
            "selection_rate": self.selection_rate_,
        }
        if rule is None:
            keep = rec["coteaching_mask"].copy()
        else:
            ctx = SelectionContext(
                n_classes=len(self.classes_),
                clean_counts=self.class_clean_counts_,
                forget_rate=self.forget_rate_,
                embed=lambda: self.net_.embed_arrays(X),
                loss=self.loss_scores_,
                vog=self.vog_scores_,
                selection_rate=self.selection_rate_,
                **rec,
            )
            decision = rule.decide(ctx, final_quota)
            keep = np.asarray(decision.keep, dtype=bool)
            columns.update(decision.columns)
            if decision.score is not None:
                columns["selection_score"] = decision.score
            columns["coteaching_kept"] = rec["coteaching_mask"]
        columns["kept"] = keep
        return keep, issue_table(columns)

    def rescore(self, X, final_selection, *, final_quota=None):
        """Another final selection on this fit, without training again.

        Parameters
        ----------
        X : the training data given to ``fit``
            Read only by rules that need embeddings (``"knn"``, votes with it).
        final_selection, final_quota
            As the parameters; rules needing recordings this fit did not make
            (``"vog_predicted"``, ``"vog_eval"``) raise ValueError.

        Returns
        -------
        keep : ndarray of bool, shape (n_samples,)
        table : DataFrame or dict
            As ``issue_table_``.
        """
        check_is_fitted(self, "issue_table_")
        X, _ = self._prepare(X, reset=False)
        if X.shape[0] != len(self._selection_records["labels"]):
            raise ValueError(
                f"rescore needs the training data: X has {X.shape[0]} samples, the "
                f"fit had {len(self._selection_records['labels'])}."
            )
        return self._decide(X, self._resolved(final_selection), final_quota)
