"""Data utilities: label noise, long-tailed subsampling, loaders and the image cache.

Pure functions with a ``random_state`` that never modify their inputs, built on
numpy and Pillow only (importing this package does not import torch).

- Noise and imbalance: :func:`inject_label_noise`, :func:`noise_transition_matrix`,
  :func:`long_tailed_counts`, :func:`make_long_tailed`.
- Embedded default data: :func:`load_digits_images`, :func:`make_noisy_digits`.
- Data on disk, never downloaded: :func:`load_image_folder`,
  :func:`load_image_csv`, :func:`load_images` (decode once, cached as a memory
  map), :func:`load_ham10000` and :func:`grouped_train_val_test_split`.
"""

from noisyactive.datasets._digits import load_digits_images, make_noisy_digits
from noisyactive.datasets._folders import (
    IMAGE_EXTENSIONS,
    load_image_csv,
    load_image_folder,
)
from noisyactive.datasets._ham10000 import load_ham10000
from noisyactive.datasets._images import ImageDecodeError, load_images
from noisyactive.datasets._long_tail import long_tailed_counts, make_long_tailed
from noisyactive.datasets._noise import inject_label_noise, noise_transition_matrix
from noisyactive.datasets._splits import grouped_train_val_test_split

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageDecodeError",
    "grouped_train_val_test_split",
    "inject_label_noise",
    "load_digits_images",
    "load_ham10000",
    "load_image_csv",
    "load_image_folder",
    "load_images",
    "long_tailed_counts",
    "make_long_tailed",
    "make_noisy_digits",
    "noise_transition_matrix",
]
