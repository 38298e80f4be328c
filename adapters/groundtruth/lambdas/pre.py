"""Pre-labeling Lambda for custom labelwire jobs: one manifest line in, one task out.

The worker template sees `task.input`, which is what this returns as
`taskInput`: the item (`taskObject`, the S3 URI or the inline text), its
labelwire key and metadata, and every other key of the manifest line, so a
template can show whatever the item carries. A verification batch's line
(`labelwire-batch`) also gives `sourceRef` (its items' S3 URIs or texts),
`proposed` (the model's class of each) and `keys`, in page order.
"""

from __future__ import annotations

from typing import Any

KEY_FIELD = "labelwire-key"
_SKIP_KEYS = ("isHumanAnnotationRequired", "humanAnnotationRequired")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    data = event.get("dataObject") or {}
    if not isinstance(data, dict):
        raise ValueError("dataObject must be a JSON object (one manifest line)")
    task_object = data.get("source-ref", data.get("source"))
    if task_object is None:
        raise ValueError("a manifest line needs source or source-ref")
    task_input = {k: v for k, v in data.items() if k not in _SKIP_KEYS}
    task_input["taskObject"] = task_object
    task_input["key"] = data.get(KEY_FIELD)
    task_input["metadata"] = data.get("labelwire-metadata", {})
    task_input["payload"] = data.get("labelwire-payload")
    batch = data.get("labelwire-batch")
    if isinstance(batch, list):  # a verification batch: its items and the model's class for each
        task_input["sourceRef"] = [entry.get("source-ref", entry.get("source")) for entry in batch]
        task_input["proposed"] = [entry.get("proposed", "") for entry in batch]
        task_input["keys"] = data.get("labelwire-keys", [])
    return {"taskInput": task_input, "isHumanAnnotationRequired": _required(data)}


def _required(data: dict[str, Any]) -> str:
    """A line may opt out of human labeling; both spellings AWS uses are accepted."""
    for key in _SKIP_KEYS:
        value = data.get(key)
        if value is not None:
            return "false" if str(value).strip().lower() == "false" else "true"
    return "true"
