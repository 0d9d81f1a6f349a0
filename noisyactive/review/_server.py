"""Start and stop the review page (werkzeug's server under Flask)."""

import os
import re
import secrets
import threading

from noisyactive.review._app import _host_names, create_app
from noisyactive.review._session import ReviewSession

__all__ = ["ReviewServer", "ReviewServerRunningError", "serve"]

#: Held by the review server of a checkpoint folder for as long as it runs.
SERVER_LOCK_FILE = "review.lock"


class ReviewServerRunningError(OSError):
    """Another review server holds the checkpoint folder (raised when the
    second one is created; an :class:`OSError` like a port in use)."""


def _request_handler():
    """werkzeug's request handler, with the token masked in its access log."""
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def log(self, type, message, *args):
            text = message % args if args else message
            super().log(type, "%s", re.sub(r"token=[^&\s\x1b]*", "token=...", text))

    return Handler


def _hold_folder(checkpoint):
    """Take the folder's review-server lock (held until released), or raise
    :class:`ReviewServerRunningError` at once."""
    from filelock import FileLock, Timeout

    checkpoint = os.fspath(checkpoint)
    if not os.path.isdir(checkpoint):
        raise FileNotFoundError(f"No checkpoint folder {checkpoint!r}.")
    path = os.path.join(os.path.realpath(checkpoint), SERVER_LOCK_FILE)
    lock = FileLock(path, timeout=0, thread_local=False, fallback_to_soft=False)
    try:
        lock.acquire()
    except Timeout:
        raise ReviewServerRunningError(
            f"Another review server holds the checkpoint folder {checkpoint!r} "
            f"({SERVER_LOCK_FILE} is locked): answer on its page, or stop it "
            "(Ctrl-C) before starting this one."
        ) from None
    return lock


class ReviewServer:
    """The review page of a campaign, served in a background thread.

    Parameters
    ----------
    checkpoint : str or path-like
        The campaign's checkpoint folder.
    X : array-like, default=None
        Training data, only for campaigns fitted on arrays.
    host : str, default="127.0.0.1"
        Interface to listen on; the default is reachable from this computer
        only.
    port : int, default=8765
        Port; 0 picks a free one (see ``url``).
    auto_next : bool, default=False
        Retrain and hand out the next round as soon as a batch is answered.
    adjudicate : bool, default=False
        Adjudication mode: each card shows the earlier answers with their
        annotator and the agreement; default: independent reads, the other
        answers hidden (see :func:`~noisyactive.review._app.create_app`).
    trusted : tuple of str, default=()
        Modules the checkpoint may name besides the built-in ones (see
        :func:`~noisyactive.active.load_cleaner`).

    Notes
    -----
    ``ReviewServer("campaign/", port=0).start()`` serves in a background
    thread (``url`` tells the port and the token); ``stop()`` ends it.

    One server per folder: the server holds ``review.lock`` in the folder
    from its start to ``stop()``, and a second one raises
    :class:`ReviewServerRunningError` when it is created. Every request needs
    the random per-launch ``token`` (it is in ``url``).
    """

    def __init__(
        self,
        checkpoint,
        X=None,
        *,
        host="127.0.0.1",
        port=8765,
        auto_next=False,
        adjudicate=False,
        trusted=(),
    ):
        from werkzeug.serving import make_server

        self._folder_lock = _hold_folder(checkpoint)
        try:
            self.token = secrets.token_urlsafe(32)
            self.session = ReviewSession(checkpoint, X, trusted=trusted)
            self.app = create_app(
                self.session,
                auto_next=auto_next,
                adjudicate=adjudicate,
                token=self.token,
            )
            self._server = make_server(
                host, port, self.app, threaded=True, request_handler=_request_handler()
            )
        except BaseException:
            self._folder_lock.release()
            raise
        self.host, self.port = host, self._server.server_port
        # the port is known only now (port=0 picks one): the Host guard
        self.app.config["hosts"] = _host_names(host, self.port)
        self._thread = None

    @property
    def url(self):
        """Address of the page, with its token (as Jupyter prints it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.token}"

    def start(self):
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="noisyactive-review", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self):
        """Serve in this thread until interrupted."""
        try:
            self._server.serve_forever()
        finally:
            self.close()

    def stop(self):
        """Stop serving (answers given so far are in the checkpoint already)."""
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.close()

    def close(self):
        """Free the port and the folder (for a server never started)."""
        self._server.server_close()
        if self._folder_lock.is_locked:
            self._folder_lock.release()


def serve(
    checkpoint,
    X=None,
    *,
    host="127.0.0.1",
    port=8765,
    auto_next=False,
    adjudicate=False,
    trusted=(),
):
    """Serve the review page of ``checkpoint`` until interrupted (Ctrl-C).

    The Python entry point of ``noisyactive review``; pass ``X`` when the
    campaign was fitted on arrays (they are shown as PNG images), and
    ``trusted`` when its checkpoint names classes of your own modules, and
    ``adjudicate=True`` to show each sample's earlier answers (adjudication
    mode; by default the readers do not see each other's answers).
    """
    server = ReviewServer(
        checkpoint,
        X,
        host=host,
        port=port,
        auto_next=auto_next,
        adjudicate=adjudicate,
        trusted=trusted,
    )
    print(f"Review page: {server.url}  (Ctrl-C stops; answers are saved as given)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
