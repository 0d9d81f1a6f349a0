import os
import tempfile

import pytest

try:
    import torch

    # Tiny test networks run fastest on one thread, and two threads per process
    # oversubscribe the 2-core CI machine when tests fit in parallel (n_jobs=2).
    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    torch = None

# Keep the 2-core CI machine responsive and runs reproducible.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Decoded-image caches of the tests go to a temporary folder, not ~/.cache.
os.environ.setdefault("NOISYACTIVE_CACHE", tempfile.mkdtemp(prefix="noisyactive-"))


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device; none is available here")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
