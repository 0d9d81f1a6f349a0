"""Label Studio interop: a round as a task file, Label Studio's export as answers.

Formats (Label Studio documentation, "Import pre-annotated data" and "Label
Studio JSON format of annotated tasks"):

- a task is ``{"data": {"image": URL, ...}, "predictions": [{"model_version",
  "score", "result": [{"from_name", "to_name", "type": "choices",
  "value": {"choices": [label]}}]}]}``; the importer takes a JSON list of them;
- the labelling config is ``<View><Image name=... value="$image"/>
  <Choices name=... toName=... choice="single">...</Choices></View>``;
- the JSON export is the list of tasks, each with ``"annotations": [{"result":
  [...same items...], "was_cancelled": bool, ...}]``.

Local files are referenced as ``/data/local-files/?d=<path below
LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT>`` (Label Studio's local storage);
array samples are written as PNG files beside the task file.
"""

import json
import os
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from noisyactive.review._label_studio_annotators import (
    import_annotators,
    read_label_studio_annotations,
    wants_annotators,
)

__all__ = [
    "export_label_studio",
    "import_label_studio",
    "label_studio_tasks",
    "labeling_config",
    "read_label_studio_answers",
]

FROM_NAME, TO_NAME = "label", "image"


def labeling_config(classes, *, from_name=FROM_NAME, to_name=TO_NAME):
    """The labelling config XML: one image, one single choice among ``classes``.

    Examples
    --------
    >>> from noisyactive.review import labeling_config
    >>> print(labeling_config(["mel", "nv"]))
    <View>
      <Image name="image" value="$image" zoom="true"/>
      <Choices name="label" toName="image" choice="single" showInLine="true">
        <Choice value="mel"/>
        <Choice value="nv"/>
      </Choices>
    </View>
    """
    choices = "\n".join(f"    <Choice value={quoteattr(str(c))}/>" for c in classes)
    return (
        "<View>\n"
        f'  <Image name={quoteattr(to_name)} value="${to_name}" zoom="true"/>\n'
        f"  <Choices name={quoteattr(from_name)} toName={quoteattr(to_name)} "
        'choice="single" showInLine="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>"
    )


def local_file_url(path, document_root="/"):
    """Label Studio's local-storage reference of ``path``.

    Examples
    --------
    >>> from noisyactive.review._label_studio import local_file_url
    >>> local_file_url("/data/derm/img 1.jpg", "/data")
    '/data/local-files/?d=derm/img%201.jpg'
    """
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(document_root))
    if relative.startswith(".."):
        raise ValueError(
            f"{path!r} is not below the Label Studio document root "
            f"{document_root!r}; set document_root to a folder above the images."
        )
    return "/data/local-files/?d=" + quote(relative.replace(os.sep, "/"))


def label_studio_tasks(rows, *, image_refs, model_version="noisyactive", campaign=None):
    """Tasks for the rows of a pending table (pure; see module docstring).

    Parameters
    ----------
    rows : list of dict
        ``index``, ``path``, ``current_label``, ``suggested_label``,
        ``confidence`` (texts and floats, as :class:`ReviewSession` gives).
    image_refs : list of str
        The image URL of each row.
    model_version : str
        Shown by Label Studio beside the pre-annotation.
    campaign : str, default=None
        The campaign's fingerprint (``ReviewSession.campaign_id``), stored as
        ``data.noisyactive_campaign`` so an import checks where tasks came from.
    """
    tasks = []
    for row, ref in zip(rows, image_refs):
        task = {
            "data": {
                "image": ref,
                "noisyactive_index": int(row["index"]),
                "path": row.get("path") or "",
                "current_label": row["current_label"],
            }
        }
        if campaign is not None:
            task["data"]["noisyactive_campaign"] = campaign
        if row.get("suggested_label"):
            prediction = {
                "model_version": model_version,
                "result": [
                    {
                        "from_name": FROM_NAME,
                        "to_name": TO_NAME,
                        "type": "choices",
                        "value": {"choices": [row["suggested_label"]]},
                    }
                ],
            }
            if row.get("confidence") is not None:
                prediction["score"] = float(row["confidence"])
            task["predictions"] = [prediction]
        tasks.append(task)
    return tasks


def read_label_studio_answers(path, *, from_name=FROM_NAME, campaign=None):
    """Answers in a Label Studio JSON export of tasks made by
    :func:`export_label_studio`.

    The newest annotation of a task counts; a skipped (cancelled) task or an
    annotation without a choice is an abstention; a task without annotations
    is left open. With ``campaign``, a task written for another campaign
    (another ``data.noisyactive_campaign``) is refused.

    Returns
    -------
    indices : list of int
    labels : list of str
        ``""`` for abstentions.
    """
    with open(path, encoding="utf-8") as fh:
        tasks = json.load(fh)
    if isinstance(tasks, dict):  # one task exported alone
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise ValueError(f"{path}: expected a JSON list of tasks (Label Studio JSON).")
    indices, labels = [], []
    for number, task in enumerate(tasks, start=1):
        where = f"{path}: task {task.get('id', number)}"
        data = task.get("data") or {}
        if "noisyactive_index" not in data:
            raise ValueError(
                f"{where} has no data.noisyactive_index; import only tasks that "
                "`noisyactive labelstudio export` wrote."
            )
        theirs = data.get("noisyactive_campaign")
        if campaign is not None and theirs is not None and theirs != campaign:
            raise ValueError(
                f"{where} was written for another campaign ({theirs}, this one "
                f"is {campaign}); nothing was imported. Import the export of "
                "the project made for this checkpoint."
            )
        annotations = [a for a in task.get("annotations") or [] if a is not None]
        if not annotations:
            continue
        latest = max(
            enumerate(annotations),
            key=lambda p: (
                str(p[1].get("updated_at") or p[1].get("created_at") or ""),
                p[0],
            ),
        )[1]
        chosen = []
        if not latest.get("was_cancelled"):
            for item in latest.get("result") or []:
                if item.get("type") == "choices" and item.get("from_name") == from_name:
                    chosen.extend((item.get("value") or {}).get("choices") or [])
        if len(chosen) > 1:
            raise ValueError(f"{where}: several choices {chosen}; pick one per task.")
        indices.append(int(data["noisyactive_index"]))
        labels.append(str(chosen[0]) if chosen else "")
    return indices, labels


def export_label_studio(session, folder, *, document_root="/", url_prefix=None):
    """Write the open questions of ``session`` for Label Studio.

    When no question is open (the last round was closed, e.g. by
    ``noisyactive teach``), the next round is handed out first, as
    ``noisyactive query`` does; when the campaign is over (budget spent,
    nothing left to ask) a ValueError says so and nothing is written.

    Writes ``folder/tasks.json`` (import it into a project) and
    ``folder/labeling_config.xml`` (paste it under Settings > Labeling
    Interface); array samples also as ``folder/images/<index>.png``.

    Parameters
    ----------
    session : ReviewSession
    folder : str or path-like
    document_root : str, default="/"
        ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` of the Label Studio server,
        for ``/data/local-files/`` references.
    url_prefix : str, default=None
        Instead of local-file references, ``url_prefix`` + the path relative
        to ``document_root`` (images served by a web server or a bucket).

    Returns
    -------
    tasks_path : str
    """
    from noisyactive.review._images import array_to_png

    folder = os.fspath(folder)
    session.open_round()  # the next round when none is open; raises at the end
    rows = session.pending()
    if not rows:
        raise ValueError(
            "No question is open and no round can be handed out; nothing was "
            "written. Run `noisyactive query` to see why."
        )
    os.makedirs(folder, exist_ok=True)
    refs = []
    for row in rows:
        kind, source = session.image_source(row["index"])
        if kind == "array":
            os.makedirs(os.path.join(folder, "images"), exist_ok=True)
            source = os.path.join(folder, "images", f"{row['index']}.png")
            with open(source, "wb") as fh:
                fh.write(array_to_png(session.image_source(row["index"])[1]))
        if url_prefix is None:
            refs.append(local_file_url(source, document_root))
        else:
            relative = os.path.relpath(os.path.abspath(source), document_root)
            refs.append(
                url_prefix.rstrip("/") + "/" + quote(relative.replace(os.sep, "/"))
            )
    round_ = session.progress()["round"]
    tasks = label_studio_tasks(
        rows,
        image_refs=refs,
        model_version=f"noisyactive round {round_}",
        campaign=session.campaign_id,
    )
    tasks_path = os.path.join(folder, "tasks.json")
    with open(tasks_path, "w", encoding="utf-8") as fh:
        json.dump(tasks, fh, indent=1)
    with open(os.path.join(folder, "labeling_config.xml"), "w", encoding="utf-8") as fh:
        fh.write(labeling_config(session.classes) + "\n")
    return tasks_path


class ImportCount(int):
    """The number of answers taught; ``amended`` of them changed an answer
    given earlier."""

    amended = 0


def import_label_studio(session, path, *, finish=True, amend=True):
    """Teach the answers of a Label Studio JSON export.

    With ``finish=True`` the round is applied (the classifier refit) once no
    question of the batch is open; ``finish=False`` only records.

    A cumulative export (tasks of earlier rounds still in the project) is
    fine: an answer applied already with the same label (or a repeated
    abstention) is skipped. An annotation changed in Label Studio after its
    answer was imported is a correction: it is applied (journaled as an
    amendment naming the answer it replaces; a round already trained on it
    is retrained), unless ``amend=False``, which refuses the file. Tasks
    written for another campaign are refused (nothing is imported).

    Returns
    -------
    n_answers : ImportCount
        Answers taught now (skipped repeats not counted); its ``amended``
        attribute counts the corrections among them.
    """
    indices, labels = read_label_studio_answers(path, campaign=session.campaign_id)
    annotations = read_label_studio_annotations(path)
    if wants_annotators(session, annotations):  # every user's answers kept
        n, n_amended = import_annotators(session, annotations, finish=finish)
        count = ImportCount(n)
        count.amended = n_amended
        return count
    applied = session.applied_labels(indices)
    changed = [
        (i, old, new)
        for i, new, old in zip(indices, labels, applied)
        if old and new != old  # an abstention may be answered later
    ]
    if changed and not amend:
        listed = ", ".join(f"{i} ({a!r} applied, {b!r} now)" for i, a, b in changed)
        raise ValueError(
            f"{path}: answers differ from ones applied already, for samples "
            f"{listed}; nothing was imported. Import with amend to apply them."
        )
    keep = [k for k, old in enumerate(applied) if old is None or labels[k] != old]
    indices = [indices[k] for k in keep]
    labels = [labels[k] for k in keep]
    if indices:
        session.answer(indices, labels, finish=finish, amend=True)
    count = ImportCount(len(indices))
    count.amended = len(changed)
    return count
