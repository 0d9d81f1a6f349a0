"""The expert in the loop without Python: a review page, Label Studio files.

:func:`serve` (``noisyactive review CHECKPOINT``) shows the open questions of
an ask/tell campaign in the browser and saves every answer at once;
:func:`export_label_studio` / :func:`import_label_studio` move a round to and
from Label Studio.
"""

from noisyactive.review._label_studio import (
    export_label_studio,
    import_label_studio,
    labeling_config,
    read_label_studio_answers,
)
from noisyactive.review._server import ReviewServer, ReviewServerRunningError, serve
from noisyactive.review._session import ReviewSession

__all__ = [
    "ReviewServer",
    "ReviewServerRunningError",
    "ReviewSession",
    "export_label_studio",
    "import_label_studio",
    "labeling_config",
    "read_label_studio_answers",
    "serve",
]
