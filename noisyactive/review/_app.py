"""The review page: a small Flask app over a :class:`ReviewSession`.

Routes: ``/`` (the page), ``/image/<index>``, ``POST /api/answer``,
``POST /api/next`` (retrain in a background thread and hand out the next
round), ``/api/status`` (polled by the page while it trains).

A small, strict local server: every request but the static files needs the
per-launch token (``X-Review-Token`` header, or ``?token=`` in the page's
and images' URLs), bodies are limited to :data:`MAX_BODY_BYTES` of JSON, an
answer needs a JSON integer naming a question of the current round (an open
one, or an answered one whose answer is changed: journaled as a correction),
images are served only for open or answered samples, and every error is a
JSON ``{"error": ...}`` with its status code.
"""

import secrets
import threading
import time
import traceback

__all__ = ["MAX_BODY_BYTES", "TOKEN_HEADER", "create_app", "Trainer"]

#: Largest request body (an answer is a few dozen bytes).
MAX_BODY_BYTES = 16 * 1024
#: The header carrying the per-launch token.
TOKEN_HEADER = "X-Review-Token"

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


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


def create_app(session, *, auto_next=False, adjudicate=False, hosts=None, token=None):
    """The Flask application serving ``session``.

    Parameters
    ----------
    session : ReviewSession
    auto_next : bool, default=False
        Retrain and hand out the next round as soon as the batch is answered
        (and at start when nothing is open).
    adjudicate : bool, default=False
        Show each card's earlier answers with their annotator and the
        agreement (for a senior reader who settles disagreements); by
        default the reads are independent and the other answers hidden.
        Needs a campaign that takes several answers per sample.
    hosts : set of str, default=None
        ``host:port`` values the server answers to (a guard against DNS
        rebinding); None accepts any ``Host``. Either way a POST must carry a
        JSON body and, when the browser sends an ``Origin``, come from the
        page itself (cross-site requests are refused).
    token : str, default=None
        The secret every request must carry (``X-Review-Token`` header or
        ``?token=``); default: a new random one, in
        ``app.config["token"]``.
    """
    from flask import Flask, abort, jsonify, render_template, request
    from werkzeug.exceptions import HTTPException

    from noisyactive.active import (
        CheckpointChangedError,
        CheckpointCorruptedError,
        CheckpointLockedError,
        UntrustedCheckpointError,
    )
    from noisyactive.review._images import (
        ImageRefusedError,
        array_to_png,
        read_input_image,
    )
    from noisyactive.review._reviewers import (
        answer_as,
        answered_for,
        pending_for,
        wants_reviewer,
    )
    from noisyactive.review._session import NotOpenError

    if adjudicate and not wants_reviewer(session):
        raise ValueError(
            "Adjudication shows the earlier answers of a sample, but this campaign "
            "takes one answer per sample: set max_answers_per_sample (or a "
            "consensus rule) for several readers first."
        )
    app = Flask("noisyactive.review")
    trainer = Trainer(session)
    app.config["trainer"] = trainer
    app.config["session"] = session
    app.config["hosts"] = None if hosts is None else {h.lower() for h in hosts}
    app.config["token"] = secrets.token_urlsafe(32) if token is None else token
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    # -- every error as JSON with its status code -------------------------------
    @app.errorhandler(HTTPException)
    def http_error(exc):
        return jsonify(error=exc.description), exc.code

    @app.errorhandler(CheckpointLockedError)
    @app.errorhandler(CheckpointChangedError)
    def folder_busy(exc):
        return jsonify(error=str(exc)), 409

    @app.errorhandler(Exception)
    def internal_error(exc):
        traceback.print_exc()
        return jsonify(error=f"{type(exc).__name__}: {exc}"), 500

    # -- who may ask --------------------------------------------------------------
    def token_ok():
        given = request.headers.get(TOKEN_HEADER) or request.args.get("token") or ""
        expected = app.config["token"]
        return secrets.compare_digest(
            given.encode("utf-8", "replace"), expected.encode("utf-8")
        )

    @app.before_request
    def same_origin_only():
        from urllib.parse import urlsplit

        allowed = app.config["hosts"]
        if allowed is not None and request.host.lower() not in allowed:
            abort(403, f"Unknown host {request.host!r}.")
        if request.endpoint != "static" and not token_ok():
            abort(
                403,
                "Missing or wrong token: open the address `noisyactive review` "
                "printed (it ends with ?token=...).",
            )
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin")
            if origin is not None:
                parts = urlsplit(origin)
                if (parts.scheme, parts.netloc.lower()) != (
                    request.scheme,
                    request.host.lower(),
                ):
                    abort(403, "Cross-site request refused.")
            if not request.is_json:
                abort(415, "Send the request as application/json.")
            length = request.content_length
            if length is not None and length > MAX_BODY_BYTES:
                abort(413)  # before reading it
        return None

    @app.after_request
    def strict_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", _CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "no-referrer")  # the token is in the URL
        h.setdefault("Cache-Control", "no-store")
        return response

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

    def reviewer():
        name = (request.args.get("reviewer") or "").strip()
        return name[:100] or None

    @app.get("/")
    def page():
        classes = session.classes
        busy = training()
        asks, name = wants_reviewer(session), reviewer()
        items, answered = [], []
        if not busy and (name or not asks):
            if asks:
                items = pending_for(session, name, adjudicate=adjudicate)
            else:
                items = session.pending()
            answered = answered_for(session, name) if asks else session.answered()
        return render_template(
            "review.html",
            items=items,
            answered=answered,
            ask_reviewer=asks,
            adjudicate=adjudicate,
            classes=list(zip(classes, _keys(len(classes)))),
            progress=progress(),
            finished=None if busy else session.finished(),
            training=busy,
            auto_next=auto_next,
            checkpoint=session.checkpoint,
            token=app.config["token"],
            token_header=TOKEN_HEADER,
        )

    @app.get("/image/<int:index>")
    def image(index):
        if training():
            abort(409, "The classifier is training; wait for it.")
        try:
            kind, source = session.shown_image(index)
            if kind == "path":
                data, mimetype = read_input_image(source)
            else:
                data, mimetype = array_to_png(source), "image/png"
        except KeyError:
            abort(404, f"No sample {index}.")
        except FileNotFoundError:
            abort(404, f"The image of sample {index} is missing.")
        except (NotOpenError, ImageRefusedError) as exc:
            abort(403, str(exc))
        response = app.response_class(data, mimetype=mimetype)
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response

    def answer_body():
        """``(index, label)`` of a well-formed answer, else a 400."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, 'The body must be a JSON object {"index": ..., "label": ...}.')
        unknown = sorted(set(body) - {"index", "label", "annotator"})
        if unknown or "index" not in body or "label" not in body:
            abort(
                400,
                'An answer is {"index": <int>, "label": <class name, or "" or '
                f"null when unsure>}}; got the keys {sorted(body)}.",
            )
        index, label = body["index"], body["label"]
        if type(index) is not int:  # noqa: E721 - not bool, not 3.0
            abort(400, f"'index' must be a JSON integer, not {index!r}.")
        if not 0 <= index < session.n_samples:
            abort(400, f"There is no sample {index}.")
        if label is not None and not isinstance(label, str):
            abort(400, f"'label' must be a class name (text) or null, not {label!r}.")
        who = body.get("annotator")
        if who is not None and not (isinstance(who, str) and who.strip()):
            abort(400, f"'annotator' must be a name (non-empty text), not {who!r}.")
        if who is None and wants_reviewer(session):
            abort(400, "Say who is reviewing: 'annotator' is needed here.")
        return index, "" if label is None else label, who and who.strip()[:100]

    @app.post("/api/answer")
    def answer():
        if training():
            abort(409, "The classifier is training; wait for it.")
        index, label, who = answer_body()
        try:
            if who is None:
                session.answer_open(index, label)
            else:
                answer_as(session, index, label, who)
        except NotOpenError as exc:
            abort(409, str(exc))
        except (UntrustedCheckpointError, CheckpointCorruptedError):
            raise  # the folder, not the answer: a 500
        except ValueError as exc:  # not a class; the budget
            abort(400, str(exc))
        maybe_auto_next()
        return jsonify(progress=session.progress(), training=trainer.status())

    @app.post("/api/next")
    def next_round():
        if not training() and session.progress()["open"]:
            abort(409, "Answer every open sample first.")
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
