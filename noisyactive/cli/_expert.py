"""Commands for the expert's side of an ask/tell campaign.

``review`` (the web page), ``query`` / ``teach`` (a CSV the expert fills in),
``export`` (the cleaned labels) and ``labelstudio export|import``. Each takes
the campaign's checkpoint folder; campaigns fitted on arrays rather than image
paths also need ``--data FILE.npz`` (array ``X``, the training data).
"""

import sys

__all__ = ["add_expert_commands"]


def _training_data(args):
    import numpy as np

    if not getattr(args, "data", None):
        return None
    with np.load(args.data, allow_pickle=False) as arrays:
        if "X" not in arrays:
            raise SystemExit(f"noisyactive: {args.data} has no array 'X'.")
        return arrays["X"]


def _fail(exc):
    from noisyactive.active import UntrustedCheckpointError

    hint = ""
    if isinstance(exc, UntrustedCheckpointError):
        hint = " On the command line: --trusted MODULE (repeatable)."
    return SystemExit(f"noisyactive: {exc}{hint}")


def _session(args):
    from noisyactive.review import ReviewSession

    try:
        return ReviewSession(
            args.checkpoint, _training_data(args), trusted=args.trusted
        )
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(exc) from exc


def _review(args):
    from noisyactive.review import ReviewServer

    try:
        server = ReviewServer(
            args.checkpoint,
            _training_data(args),
            host=args.host,
            port=args.port,
            auto_next=args.auto_next,
            adjudicate=args.adjudicate,
            trusted=args.trusted,
        )
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: listening on {args.host}: anyone who can reach this "
            "computer can see the images and answer. An SSH tunnel to "
            "127.0.0.1 is safer.",
            file=sys.stderr,
        )
    print(
        f"Review page for {args.checkpoint}: {server.url}\n"
        "Every answer is saved as it is given; Ctrl-C stops the server.",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


def _query(args):
    session = _session(args)
    try:
        indices = session.write_questions_csv(args.csv)
    except ValueError as exc:
        raise SystemExit(f"noisyactive: {exc}") from exc
    p = session.progress()
    print(
        f"{len(indices)} questions written to {args.csv} (round {p['round']}; "
        f"budget left {p['budget_left']} of {p['budget_total']}). Fill in the "
        "'label' column (leave it blank when unsure), then run "
        f"`noisyactive teach {args.checkpoint} {args.csv}`."
    )
    return 0


def _teach(args):
    session = _session(args)
    try:
        session.teach_csv(args.answers, amend=args.amend)
    except ValueError as exc:
        raise SystemExit(f"noisyactive: {exc}") from exc
    p = session.progress()
    print(
        f"Answers from {args.answers} saved; {p['open']} questions open, budget "
        f"left {p['budget_left']} of {p['budget_total']}."
    )
    return 0


def _export(args):
    session = _session(args)
    session.export_labels(args.out)
    print(f"Labels of every training sample written to {args.out}.")
    return 0


def _labelstudio(args):
    from noisyactive.review import export_label_studio, import_label_studio

    session = _session(args)
    if args.action == "export":
        try:  # hands out the next round when none is open, as `query` does
            path = export_label_studio(
                session,
                args.folder,
                document_root=args.document_root,
                url_prefix=args.url_prefix,
            )
        except ValueError as exc:
            raise SystemExit(f"noisyactive: {exc}") from exc
        print(
            f"{len(session.pending())} tasks written to {path}; the labelling "
            f"config is in {args.folder}/labeling_config.xml."
        )
        return 0
    try:
        n = import_label_studio(session, args.export_json, finish=not args.no_finish)
    except ValueError as exc:
        raise SystemExit(f"noisyactive: {exc}") from exc
    p = session.progress()
    print(
        f"{n} answers imported from {args.export_json}"
        f"{f' ({n.amended} of them changed earlier answers)' if n.amended else ''}"
        f"; {p['open']} questions "
        f"open, budget left {p['budget_left']} of {p['budget_total']}."
    )
    return 0


def _common(parser):
    parser.add_argument("checkpoint", help="the campaign's checkpoint folder")
    parser.add_argument(
        "--data",
        default=None,
        help="NPZ file with the training array X (campaigns fitted on arrays only)",
    )
    parser.add_argument(
        "--trusted",
        action="append",
        default=[],
        metavar="MODULE",
        help="a module whose classes the checkpoint may name (your own "
        "estimator or network module); repeat for several",
    )


def add_expert_commands(sub):
    """Register ``review``, ``query``, ``teach``, ``export`` and ``labelstudio``."""
    review = sub.add_parser(
        "review", help="a local web page where the expert answers the open questions"
    )
    _common(review)
    review.add_argument(
        "--host", default="127.0.0.1", help="default: this computer only"
    )
    review.add_argument("--port", type=int, default=8765)
    review.add_argument(
        "--auto-next",
        action="store_true",
        help="retrain and show the next round as soon as a batch is answered",
    )
    review.add_argument(
        "--adjudicate",
        action="store_true",
        help="adjudication mode: show each sample's earlier answers with their "
        "annotator and the agreement (default: independent reads, the other "
        "answers hidden); for campaigns with several answers per sample",
    )
    review.set_defaults(handler=_review)

    query = sub.add_parser("query", help="write the open questions as a CSV to fill in")
    _common(query)
    query.add_argument("--csv", required=True, help="CSV file to write")
    query.set_defaults(handler=_query)

    teach = sub.add_parser("teach", help="read a filled-in questions CSV back")
    _common(teach)
    teach.add_argument("answers", help="the CSV written by `query`, with labels")
    teach.add_argument(
        "--amend",
        action="store_true",
        help="accept changed answers for samples answered already (the "
        "journal keeps both; a correction is not a new label of the budget)",
    )
    teach.set_defaults(handler=_teach)

    export = sub.add_parser(
        "export", help="write every sample's original and final label as CSV"
    )
    _common(export)
    export.add_argument("out", help="CSV file to write")
    export.set_defaults(handler=_export)

    ls = sub.add_parser("labelstudio", help="hand a round to Label Studio and back")
    actions = ls.add_subparsers(dest="action", required=True)
    ls_export = actions.add_parser(
        "export", help="tasks.json + labeling_config.xml for the open questions"
    )
    _common(ls_export)
    ls_export.add_argument("folder", help="folder for tasks.json and the config")
    ls_export.add_argument(
        "--document-root",
        default="/",
        help="LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT of the Label Studio server",
    )
    ls_export.add_argument(
        "--url-prefix",
        default=None,
        help="reference images as URL-PREFIX/<path below the document root> "
        "instead of Label Studio local files",
    )
    ls_import = actions.add_parser(
        "import", help="teach the answers of a Label Studio JSON export"
    )
    _common(ls_import)
    ls_import.add_argument("export_json", help="the JSON export of the project")
    ls_import.add_argument(
        "--no-finish",
        action="store_true",
        help="only record the answers, even when the batch is complete",
    )
    ls.set_defaults(handler=_labelstudio)
