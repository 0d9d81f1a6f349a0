"""The docs' scale-out recipe: GridSearchCV over mix_ratio on a Dask
distributed LocalCluster through joblib's dask backend (issue 18.6)."""

import numpy as np
import pytest

pytest.importorskip("dask.distributed")


@pytest.mark.slow
def test_gridsearch_over_mix_ratio_runs_on_a_dask_local_cluster():
    import joblib
    from dask.distributed import Client, LocalCluster, get_task_stream
    from sklearn.model_selection import GridSearchCV

    from noisyactive import NoisyLabelFilter
    from noisyactive.datasets import make_noisy_digits

    data = make_noisy_digits(noise_rate=0.4, as_float=True, random_state=0)
    X = data.X_train.reshape(len(data.X_train), -1)
    search = GridSearchCV(
        NoisyLabelFilter(
            module="mlp",
            forget_rate=0.4,
            num_gradual=1,
            vog_window=2,
            max_epochs=3,
            device="cpu",
            random_state=0,
        ),
        {"mix_ratio": [0.0, 0.5]},
        scoring="f1_macro",
        cv=2,
        n_jobs=-1,
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            search.fit(X, data.y_train)
    # 2 candidates x 2 folds (+ the refit) ran as tasks on the cluster's workers
    workers = {t["worker"] for t in stream.data}
    assert len(stream.data) >= 4 and workers
    assert search.best_params_["mix_ratio"] in (0.0, 0.5)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
