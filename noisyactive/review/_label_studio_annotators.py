"""Label Studio exports with several annotators per task.

Label Studio keeps one annotation per user and task (``completed_by``); a
user's newest annotation of a task is their answer. When an export holds the
answers of more than one user (or the campaign asks several answers per
sample), every user's answers are taught with the user as the annotator
(``completed_by``: the e-mail when the export gives the user as an object,
else the user id as text).
"""

import json

import numpy as np

from noisyactive.active._annotators import answered_by, latest_answers
from noisyactive.review._reviewers import wants_reviewer
from noisyactive.review._session import label_text

__all__ = ["import_annotators", "read_label_studio_annotations"]


def _who(annotation):
    user = annotation.get("completed_by")
    if isinstance(user, dict):
        user = user.get("email") or user.get("id")
    return None if user is None else str(user)


def _choice(annotation, from_name, where):
    if annotation.get("was_cancelled"):
        return ""
    chosen = []
    for item in annotation.get("result") or []:
        if item.get("type") == "choices" and item.get("from_name") == from_name:
            chosen.extend((item.get("value") or {}).get("choices") or [])
    if len(chosen) > 1:
        raise ValueError(f"{where}: several choices {chosen}; pick one per task.")
    return str(chosen[0]) if chosen else ""


def read_label_studio_annotations(path, *, from_name="label"):
    """``[(index, annotator, label)]``: each user's newest annotation of each
    task (``""`` an abstention). Read after
    :func:`~noisyactive.review.read_label_studio_answers` checked the file."""
    with open(path, encoding="utf-8") as fh:
        tasks = json.load(fh)
    tasks = [tasks] if isinstance(tasks, dict) else tasks
    out = []
    for number, task in enumerate(tasks, start=1):
        where = f"{path}: task {task.get('id', number)}"
        index = int(task["data"]["noisyactive_index"])
        newest = {}
        for k, a in enumerate(task.get("annotations") or []):
            if a is None:
                continue
            when = (str(a.get("updated_at") or a.get("created_at") or ""), k)
            who = _who(a) or "label-studio"
            if who not in newest or when >= newest[who][0]:
                newest[who] = (when, a)
        for who, (_, a) in newest.items():
            out.append((index, who, _choice(a, from_name, where)))
    return out


def several_users(annotations):
    return len({who for _, who, _ in annotations}) > 1


def import_annotators(session, annotations, *, finish=True):
    """Teach every user's answers with the user as annotator (a repeat is
    skipped, a changed answer amended); returns ``(n_taught, n_amended)``."""
    names = list(dict.fromkeys(who for _, who, _ in annotations))
    taught = amended = 0
    for k, name in enumerate(names):
        with session._use():
            s = session.cleaner._state
            mine, latest = answered_by(s, name), latest_answers(s, name)
            classes = session.cleaner.classes_
        idx, values = [], []
        for index, who, text in annotations:
            if who != name:
                continue
            if mine[index]:
                old = label_text(classes[latest[index]]) if latest[index] >= 0 else ""
                if old == text:
                    continue  # imported already
                amended += 1
            idx.append(index)
            values.append(session.parse_label(text))
        last = k == len(names) - 1
        if idx or (last and finish):
            with session._use():
                if idx:
                    session.cleaner.teach(
                        session._x(),
                        np.asarray(idx, dtype=np.intp),
                        values,
                        finish=finish and last,
                        amend=True,
                        annotator=name,
                    )
        taught += len(idx)
    return taught, amended


def wants_annotators(session, annotations):
    """Whether an import keeps every user's answers."""
    return several_users(annotations) or wants_reviewer(session)
