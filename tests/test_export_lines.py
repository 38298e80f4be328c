"""What an exported line says, and the operator's file settings, without a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labelwire.adapters.groundtruth.manifests import (
    MAX_VALUE_CHARS,
    ItemRejected,
    check_line_limits,
    failure_reason,
    prelabel_attribute_values,
    reference_label,
)
from labelwire.adapters.groundtruth.responses import AnswerShape
from labelwire.server.cli import main as cli
from labelwire.server.domain.errors import InvalidArgument, PermissionDenied
from labelwire.server.files import exports
from labelwire.server.files.augmented import ExportFormat
from labelwire.server.files.policy import FilesSettings, S3Object, S3Prefix, resolve
from labelwire.server.store.rows import ExportItemRow

CLASSES = ("pos", "neg", "neutral")
FMT = ExportFormat("label", "classification", "text", CLASSES, "reviews")


def row(**overrides: Any) -> ExportItemRow:
    base: dict[str, Any] = {
        "item_id": 1,
        "item_key": "k1",
        "item_metadata": None,
        "payload_kind": "text",
        "payload": "Great food",
        "is_gold": 0,
        "failure_reason": None,
        "value": json.dumps({"classification": {"class_name": "neg"}}),
        "confidence": 1.0,
        "probabilities": json.dumps({"neg": 1.0}),
        "method": "majority_vote",
        "judgment_count": 1,
        "human": 1,
        "created_at": 1_700_000_000.0,
    }
    return ExportItemRow(**(base | overrides))


def test_a_label_from_one_judgment_does_not_claim_certainty() -> None:
    line, labeled = exports.export_line(row(), FMT)
    assert labeled and line["label"] == 1 and line["label-metadata"]["confidence"] == 0.7
    assert line["labelwire-key"] == "k1" and line["source"] == "Great food"


@pytest.mark.parametrize(
    ("counts", "expected"),
    [({"neg": 1.0}, 0.7), ({"neg": 1.0}, 0.9807), ({"neg": 2 / 3, "pos": 1 / 3}, 0.7935)],
)
def test_vote_shares_become_the_posterior_at_the_default_accuracy(
    counts: dict[str, float], expected: float
) -> None:
    n = 1 if expected == 0.7 else 3
    share = max(counts.values())
    got = exports.reported_confidence(
        "majority_vote", share, n, counts, {"classification": {"class_name": "neg"}}, CLASSES
    )
    assert round(got, 4) == expected


def test_posteriors_are_stated_as_they_are_and_geometry_never_rises() -> None:
    answer = {"classification": {"class_name": "neg"}}
    assert exports.reported_confidence("dawid_skene", 0.83, 1, {}, answer, CLASSES) == 0.83
    boxes = {"bounding_boxes": {"boxes": []}}
    assert exports.reported_confidence("box_clusters", 1.0, 1, {}, boxes, ()) == pytest.approx(0.7)
    assert exports.reported_confidence("box_clusters", 0.4, 3, {}, boxes, ()) == 0.4


def test_gold_open_and_failed_items_are_lines_too() -> None:
    gold, gold_labeled = exports.export_line(row(is_gold=1, value=None), FMT)
    open_, open_labeled = exports.export_line(row(item_key="k2", value=None), FMT)
    failed, failed_labeled = exports.export_line(
        row(item_key="k3", value=None, failure_reason="expired"), FMT
    )
    assert (gold_labeled, open_labeled, failed_labeled) == (False, False, False)
    assert gold["labelwire-gold"] is True and "labelwire-gold" not in open_
    assert "label" not in open_ and "label-metadata" not in open_
    shape = AnswerShape("classification", CLASSES)
    assert reference_label(failed, "label", "k3", shape, lambda u: b"") is None
    assert failure_reason(failed, "label") == "expired" and failed["labelwire-key"] == "k3"


def test_an_exported_line_reads_back_as_ground_truths_label() -> None:
    metadata = json.dumps({"id": "x", "source-ref": "s3://b/stale.txt"})
    line, _ = exports.export_line(row(item_metadata=metadata), FMT)
    assert "source-ref" not in line and line["source"] == "Great food"
    back = reference_label(line, "label", "k1", AnswerShape("classification", CLASSES), lambda u: b"")
    assert back is not None and back.answer == {"classification": {"class_name": "neg"}}
    assert line["id"] == "x" and line["label-metadata"]["job-name"] == "reviews"


@pytest.mark.parametrize(
    ("confidences", "lowest"),
    [
        ({"0": 0.9, "2": 0.7}, 0.7),
        ({"0": 0.9}, 0.9),
        ({"0": None, "2": "0.6"}, 0.6),
        ({"0": [0.1], "2": 0.6}, 0.6),
        ({"0": "high", "2": True}, None),
        ({}, None),
    ],
)
def test_a_multi_label_read_back_is_as_sure_as_its_least_sure_stated_class(
    confidences: dict[str, Any], lowest: float | None
) -> None:
    metadata = {"class-map": {"0": "pos", "2": "neutral"}, "confidence-map": confidences}
    line = {"source": "x", "label": [0, 2], "label-metadata": metadata}
    back = reference_label(line, "label", "k1", AnswerShape("multi_label", CLASSES), lambda u: b"")
    assert back is not None and back.answer == {"multi_label": {"class_names": ["pos", "neutral"]}}
    assert back.confidence == lowest


def test_a_class_the_job_does_not_have_is_exported_with_id_minus_one() -> None:
    fmt = ExportFormat("label", "multi_label", "text", CLASSES, "reviews")
    value = json.dumps({"multi_label": {"class_names": ["neg", "retired"]}})
    line, labeled = exports.export_line(row(value=value, confidence=0.5), fmt)
    assert labeled and line["label"] == [1, -1]
    assert line["label-metadata"]["class-map"] == {"1": "neg", "-1": "retired"}


def test_a_segmentation_label_whose_mask_is_not_a_png_reads_as_no_label() -> None:
    metadata = {"internal-color-map": {"0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"}}}
    line = {"source-ref": "s3://b/i.png", "label": "s3://b/mask.png", "label-metadata": metadata}
    shape = AnswerShape("segmentation", CLASSES)
    assert reference_label(line, "label", "k1", shape, lambda u: b"not a png") is None


def test_an_attribute_value_may_be_exactly_ground_truths_limit_and_no_longer() -> None:
    check_line_limits({"source": "x" * MAX_VALUE_CHARS})
    with pytest.raises(ItemRejected, match=f"its source has {MAX_VALUE_CHARS + 1:d} characters"):
        check_line_limits({"source": "x" * (MAX_VALUE_CHARS + 1)})


def test_boxes_to_verify_and_exported_boxes_take_missing_sides_as_zero() -> None:
    boxes = [{"class_name": "neg", "left": 3, "width": 5, "height": 6}]
    shown = prelabel_attribute_values("model", {"bounding_boxes": {"boxes": boxes}})
    assert shown["model"] == {"annotations": [{"class_id": 0, "left": 3, "top": 0, "width": 5, "height": 6}]}
    assert shown["model-metadata"]["objects"] == [{"confidence": 0}]
    assert shown["model-metadata"]["class-map"] == {"0": "neg"}
    fmt = ExportFormat("label", "bounding_box", "image", CLASSES, "boxes")
    value = json.dumps({"bounding_boxes": {"boxes": boxes}})
    line, _ = exports.export_line(row(value=value, confidence=0.8), fmt)
    assert line["label"]["annotations"] == [{"class_id": 1, "left": 3, "top": 0, "width": 5, "height": 6}]


@pytest.mark.parametrize(
    ("requested", "display", "expected"),
    [
        ("", "Review sentiment (v2)", "review-sentiment-v2"),
        ("", "Ünïcode ✓", "n-code"),
        ("", "✓✓", "labelwire-job-12"),
        ("", "x" * 80, "x" * 63),
        ("my-job-1", "ignored", "my-job-1"),
    ],
)
def test_job_name_follows_ground_truths_rules(requested: str, display: str, expected: str) -> None:
    name = exports.job_name(requested, display, 12)
    assert name == expected and exports.JOB_NAME.match(name)


@pytest.mark.parametrize("bad", ["under_score", "-lead", "trail-", "x" * 64, "labeling-job/jobs-12"])
def test_a_label_job_name_ground_truth_refuses_is_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="label_job_name"):
        exports.job_name(bad, "J", 1)


def test_s3_prefixes_are_parsed_and_a_clients_uri_is_kept_to_its_own() -> None:
    settings = FilesSettings.build(None, ["s3://data-bucket/labelwire/", "s3://other-bucket"])
    assert settings.s3_allow == (S3Prefix("data-bucket", "labelwire/"), S3Prefix("other-bucket", ""))
    ok = resolve(settings, 7, "s3://data-bucket/labelwire/7/in.manifest", "uri", write=False)
    assert ok == S3Object(
        "s3://data-bucket/labelwire/7/in.manifest", "data-bucket", "labelwire/7/in.manifest"
    )
    assert resolve(settings, 7, "s3://other-bucket/7/a.csv", "uri", write=True)
    with pytest.raises(PermissionDenied, match="s3://data-bucket/labelwire/7/"):
        resolve(settings, 7, "s3://data-bucket/labelwire/70/in.manifest", "uri", write=False)
    with pytest.raises(InvalidArgument, match=r"'\.', '\.\.', empty segments"):
        resolve(settings, 7, "s3://data-bucket/labelwire/7/./in.manifest", "uri", write=False)


@pytest.mark.parametrize("bad", ["bucket/prefix", "s3://", "s3://Bad_Bucket/x", "s3://b-ok/a/../b"])
def test_a_bad_s3_allow_stops_the_server_at_start(bad: str) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["serve", "--s3-allow", bad])
    assert stop.value.code == 2


def test_a_files_root_that_is_not_a_folder_stops_the_server_at_start(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["serve", "--files-root", str(tmp_path / "missing")])
    assert stop.value.code == 2


def test_serve_takes_the_files_settings_from_flags_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[FilesSettings] = []

    async def serve(args: Any) -> None:
        seen.append(args.files)

    monkeypatch.setattr(cli, "_serve", serve)
    monkeypatch.setenv("LABELWIRE_S3_ALLOW", "s3://env-bucket/a, s3://env-bucket/b/")
    monkeypatch.setenv("LABELWIRE_S3_SHARED", "1")
    monkeypatch.setenv("LABELWIRE_FILES_ROOT", str(tmp_path))
    cli.main(["serve"])
    cli.main(["serve", "--s3-allow", "s3://flag-bucket/x", "--files-root", str(tmp_path / ".")])
    monkeypatch.delenv("LABELWIRE_S3_SHARED")
    monkeypatch.delenv("LABELWIRE_FILES_ROOT")
    monkeypatch.delenv("LABELWIRE_S3_ALLOW")
    cli.main(["serve"])
    env, flags, none = seen
    assert env.root == tmp_path.resolve() and env.s3_shared
    assert env.s3_allow == (S3Prefix("env-bucket", "a/"), S3Prefix("env-bucket", "b/"))
    assert flags.s3_allow == (S3Prefix("flag-bucket", "x/"),) and flags.root == tmp_path.resolve()
    assert none.root is None and none.s3_allow == () and not none.s3_shared


def test_a_vote_share_becomes_the_posterior_of_exactly_its_votes() -> None:
    """Each branch of reported_confidence against the votes it must use; the
    figures are the library's own posterior of those votes."""
    post = exports._posterior
    verdict = {"verification": {"correct": [True]}}
    # No judgment: nothing to restate.
    assert exports.reported_confidence("majority_vote", 0.42, 0, {}, verdict, CLASSES) == 0.42
    # An exact vote (verification, custom): two of three agree.
    got = exports.reported_confidence("majority_vote_exact", 2 / 3, 3, {}, verdict, CLASSES)
    assert got == pytest.approx(post([2, 1], 0)) and got < 0.9
    # One class only: the class vote cannot be restated; agreement of 2 of 2 is.
    single = exports.reported_confidence(
        "majority_vote", 1.0, 2, {"a": 1.0}, {"classification": {"class_name": "a"}}, ("a",)
    )
    assert single == pytest.approx(post([2, 0], 0)) and single < 1.0
    # Probabilities that do not add up to the judgments (rounded shares): the agreement is used.
    chosen = {"classification": {"class_name": CLASSES[0]}}
    over = exports.reported_confidence(
        "majority_vote", 0.67, 3, {CLASSES[0]: 0.5, CLASSES[1]: 0.5}, chosen, CLASSES
    )
    under = exports.reported_confidence(
        "majority_vote", 0.67, 3, {CLASSES[0]: 0.3, CLASSES[1]: 0.3}, chosen, CLASSES
    )
    assert over == pytest.approx(post([2, 1], 0)) and under == pytest.approx(post([2, 1], 0))
    # Many judgments (counts are large ints): the class votes themselves are used.
    shares = dict(zip(CLASSES, (0.5, 0.3, 0.2), strict=False))
    many = exports.reported_confidence("majority_vote", 0.5, 300, shares, chosen, CLASSES)
    assert many == pytest.approx(post([150, 90, 60], 0)) and many > 0.99


def test_a_failed_segmentation_line_names_the_ref_attribute_whatever_string_the_spec_holds() -> None:
    task_type = "".join(["segment", "ation"])  # as parsed from a stored spec, not a literal
    fmt = ExportFormat("label", task_type, "image", CLASSES, "masks")
    line, labeled = exports.export_line(row(value=None, failure_reason="expired"), fmt)
    assert not labeled and line["label-ref-metadata"]["failure-reason"] == "expired"
