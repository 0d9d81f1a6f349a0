"""The network core under :mod:`noisyactive.base`: input preparation, the skorch
net over in-memory arrays (``ArrayNet``), its batches and callbacks.

It imports only :mod:`noisyactive.nets`, :mod:`noisyactive.datasets` (image
paths) and :mod:`noisyactive.utils`; :mod:`noisyactive.base`,
:mod:`noisyactive.classifiers` and :mod:`noisyactive.filtering` build on it.
"""
