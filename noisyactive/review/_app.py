"""The review page: a small Flask app over a :class:`ReviewSession`.

Routes: ``/`` (the page), ``/image/<index>``, ``POST /api/answer``,
``POST /api/next`` (retrain in a background thread and hand out the next
round), ``/api/status`` (polled by the page while it trains).
"""

import threading
import time
import traceback

__all__ = ["create_app", "Trainer"]


def _keys(n_classes):
    """Keyboard shortcut of each class: 1-9, 0, then letters."""
    keys = list("1234567890") + list("abcdefghijklmnopqrstuvwy")
    return [keys[i] if i < len(keys) else "" for i in range(n_classes)]


class Trainer:
    """Runs ``session.next_round`` in a background thread, one at a time."""

    def __init__(self, session):
        self.session = session
        self._lock = threading.Lock()
        self.state = "idle"  # idle | training | done | error
        self.started = None
        self.finished_at = None
        self.message = ""
        self.progress_before = None

    def start(self):
        """Start a round unless one is training; returns False if busy.

        The state is checked first: while a round trains, the session is busy
        for the whole refit, so a request must not wait on it (and then start
        a second round once the first is done).
        """
        with self._lock:
            if self.state == "training":
                return False
            # idle: the session answers at once
            self.progress_before = self.session.progress()
            self.state, self.started, self.message = "training", time.time(), ""
        threading.Thread(
            target=self._run, name="noisyactive-train", daemon=True
        ).start()
        return True

    def _run(self):
        try:
            indices = self.session.next_round()
            message = (
                f"Round ready: {len(indices)} samples to review."
                if len(indices)
                else self.session.end_message
            )
            state = "done"
        except ValueError as exc:  # budget spent, nothing left: an answer
            message, state = str(exc), "error"
        except Exception as exc:  # noqa: BLE001 - shown to the user, logged
            traceback.print_exc()
            message, state = f"Training failed: {exc}", "error"
        with self._lock:
            self.state, self.message, self.finished_at = state, message, time.time()

    def status(self):
        with self._lock:
            elapsed = None
            if self.started is not None:
                end = self.finished_at if self.state != "training" else time.time()
                elapsed = round((end or time.time()) - self.started, 1)
            return {"state": self.state, "elapsed_s": elapsed, "message": self.message}


_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")


def _host_names(host, port):
    """The ``Host`` header values that address a server on ``host:port``;
    None when it listens on every interface (any name may reach it)."""
    if host in _WILDCARD_HOSTS:
        return None
    names = {host}
    if host in ("127.0.0.1", "localhost", "::1"):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    elif ":" in host and not host.startswith("["):
        names = {f"[{host}]"}
    return {f"{name}:{port}" for name in names}


def create_app(session, *, auto_next=False, hosts=None):
    """The Flask application serving ``session``.

    Parameters
    ----------
    session : ReviewSession
    auto_next : bool, default=False
        Retrain and hand out the next round as soon as the batch is answered
        (and at start when nothing is open).
    hosts : set of str, default=None
        ``host:port`` values the server answers to (a guard against DNS
        rebinding); None accepts any ``Host``. Either way a POST must carry a
        JSON body and, when the browser sends an ``Origin``, come from the
        page itself (cross-site requests are refused).
    """
    from flask import Flask, abort, jsonify, render_template, request, send_file

    from noisyactive.review._images import array_to_png, file_for_browser

    app = Flask("noisyactive.review")
    trainer = Trainer(session)
    app.config["trainer"] = trainer
    app.config["session"] = session
    app.config["hosts"] = None if hosts is None else {h.lower() for h in hosts}

    @app.before_request
    def same_origin_only():
        from urllib.parse import urlsplit

        allowed = app.config["hosts"]
        if allowed is not None and request.host.lower() not in allowed:
            return jsonify(error=f"Unknown host {request.host!r}."), 403
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin")
            if origin is not None:
                parts = urlsplit(origin)
                if (parts.scheme, parts.netloc.lower()) != (
                    request.scheme,
                    request.host.lower(),
                ):
                    return jsonify(error="Cross-site request refused."), 403
            if not request.is_json:
                return jsonify(error="Send the request as application/json."), 415
        return None

    def training():
        return trainer.status()["state"] == "training"

    def progress():
        # the session is busy while it trains: show the counts from before
        return trainer.progress_before if training() else session.progress()

    def maybe_auto_next():
        if not auto_next or training():
            return
        p = session.progress()
        if not p["open"] and (p["answered"] or not session.finished()):
            trainer.start()

    @app.get("/")
    def page():
        classes = session.classes
        busy = training()
        return render_template(
            "review.html",
            items=[] if busy else session.pending(),
            classes=list(zip(classes, _keys(len(classes)))),
            progress=progress(),
            finished=None if busy else session.finished(),
            training=busy,
            auto_next=auto_next,
            checkpoint=session.checkpoint,
        )

    @app.get("/image/<int:index>")
    def image(index):
        try:
            kind, source = session.image_source(index)
        except KeyError:
            abort(404)
        if kind == "path":
            data, mimetype = file_for_browser(source)
            if isinstance(data, str):
                return send_file(data, mimetype=mimetype, max_age=3600)
        else:
            data, mimetype = array_to_png(source), "image/png"
        response = app.response_class(data, mimetype=mimetype)
        response.headers["Cache-Control"] = "max-age=3600"
        return response

    @app.post("/api/answer")
    def answer():
        if training():
            return jsonify(error="The classifier is training; wait for it."), 409
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(error="The body must be a JSON object."), 400
        try:
            index = int(body["index"])
            label = body.get("label", "")
            session.answer([index], ["" if label is None else str(label)])
        except (KeyError, TypeError, ValueError) as exc:
            return jsonify(error=str(exc)), 400
        maybe_auto_next()
        return jsonify(progress=session.progress(), training=trainer.status())

    @app.post("/api/next")
    def next_round():
        if not training() and session.progress()["open"]:
            return jsonify(error="Answer every open sample first."), 409
        trainer.start()
        return jsonify(training=trainer.status())

    @app.get("/api/status")
    def status():
        busy = training()
        return jsonify(
            training=trainer.status(),
            progress=progress(),
            finished=None if busy else session.finished(),
        )

    at_start = session.progress()
    if at_start["batch"] == 0 and at_start["budget_left"] > 0:
        trainer.start()  # a fresh campaign: hand out its first round
    else:
        maybe_auto_next()
    return app
