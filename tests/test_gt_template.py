"""Ground Truth worker templates: Liquid with Ground Truth's filters, rendered per task."""

from __future__ import annotations

import html.parser
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from labelwire.server.domain import gt_template
from labelwire.server.files import presign
from labelwire.server.files.policy import FilesSettings


def grant(ref: str) -> str:
    return "https://signed.example/" + ref.removeprefix("s3://") + "?X-Amz-Signature=ab&X-Amz-Expires=60"


def render(source: str, task_input: dict[str, object]) -> str:
    return gt_template.render(source, {"input": task_input}, grant)


class Attributes(html.parser.HTMLParser):
    """The attributes of every element, as a browser decodes them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def attributes(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Attributes()
    parser.feed(page)
    return parser.found


def test_output_is_html_escaped_unless_the_template_says_skip_autoescape() -> None:
    page = render(
        "<p>{{ task.input.source }}</p><div>{{ task.input.source | skip_autoescape }}</div>",
        {"source": "<script>alert(1)</script> & more"},
    )
    assert page == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p><div><script>alert(1)</script> & more</div>"
    )


def test_escape_once_leaves_entities_already_escaped_alone() -> None:
    page = render("{{ task.input.a | escape_once }}|{{ task.input.a | escape }}", {"a": "Tom &amp; Jerry <3"})
    assert page == "Tom &amp; Jerry &lt;3|Tom &amp;amp; Jerry &lt;3"


def test_to_json_in_an_attribute_reaches_the_page_as_the_json_value() -> None:
    """GT's own example: `categories='{{ task.input.labels | to_json }}'`."""
    labels = ["angry", 'it\'s "sad"', "<happy>"]
    page = render("<crowd-classifier categories='{{ task.input.labels | to_json }}'>", {"labels": labels})
    (tag, attrs), *_ = attributes(page)
    assert tag == "crowd-classifier"
    assert json.loads(attrs["categories"] or "") == labels


def test_the_bulk_qa_loop_names_each_checkbox_by_label_and_index_under_its_image() -> None:
    refs = [{"source-ref": f"s3://bkt/labelwire/1/img{i}.jpg", "label": "cat"} for i in range(3)]
    refs.append({"source-ref": "https://cdn.example/img3.jpg", "label": "cat"})
    source = (
        "{% for ref in task.input.sourceRef %}{% assign i = forloop.index0 %}"
        '<img src="{{ task.input.sourceRef[i].source-ref | grant_read_access }}">'
        '<crowd-checkbox checked="true" name="{{ task.input.sourceRef[i].label }}-{{i}}"></crowd-checkbox>'
        "{% endfor %}"
    )
    found = attributes(render(source, {"sourceRef": refs}))
    assert [a["src"] for t, a in found if t == "img"] == [
        grant("s3://bkt/labelwire/1/img0.jpg"),
        grant("s3://bkt/labelwire/1/img1.jpg"),
        grant("s3://bkt/labelwire/1/img2.jpg"),
        "https://cdn.example/img3.jpg",
    ]
    assert [a["name"] for t, a in found if t == "crowd-checkbox"] == ["cat-0", "cat-1", "cat-2", "cat-3"]


@pytest.mark.parametrize(
    "ref", ["file:///etc/passwd", "javascript:alert(1)", "/local/path.jpg", "data:text/html,<b>"]
)
def test_grant_read_access_refuses_anything_but_s3_and_http(ref: str) -> None:
    with pytest.raises(gt_template.TemplateError, match="grant_read_access takes s3:// or http"):
        render("{{ task.input.r | grant_read_access }}", {"r": ref})


def test_a_refused_grant_gives_the_worker_a_visible_reason() -> None:
    page = gt_template.failed_page("grant_read_access takes s3:// or http(s):// references, got '<x>'")
    assert 'role="alert"' in page and "&lt;x&gt;" in page and "<x>" not in page


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("<p>{% for r in task.input.sourceRef %}</p>", "is not valid Liquid: expected tag endfor"),
        ("{{ task.input.source | no_such_filter }}", "uses the filter 'no_such_filter'"),
        ("{% if x %}{% endfor %}", "is not valid Liquid"),
        (
            "<crowd-form><crowd-polygon name='b'></crowd-polygon></crowd-form>",
            "uses <crowd-polygon>",
        ),
    ],
)
def test_a_template_that_cannot_render_is_named_with_its_reason(source: str, problem: str) -> None:
    found = gt_template.template_problem(source)
    assert found is not None and found.startswith(problem)


def test_a_template_with_ground_truths_filters_is_accepted() -> None:
    source = (
        "{{ task.input.source-ref | grant_read_access }}{{ task.input | to_json | skip_autoescape }}"
        "{{ task.input.a | escape | escape_once }}"
    )
    assert gt_template.template_problem(source) is None


def test_a_template_too_long_is_refused_with_the_limit() -> None:
    found = gt_template.template_problem("x" * (gt_template.MAX_TEMPLATE_CHARS + 1))
    assert found == "has 1,000,001 characters; the limit is 1,000,000"


def test_task_input_is_the_manifest_line_ground_truth_would_hand_the_template() -> None:
    assert gt_template.task_input("source_ref", "s3://b/k.jpg", {"our-id": "7"}) == {
        "our-id": "7",
        "source-ref": "s3://b/k.jpg",
    }
    assert gt_template.task_input("text", "late train", None) == {"source": "late train"}
    line = {"sourceRef": [{"source-ref": "s3://b/k.jpg", "label": "cat"}]}
    assert gt_template.task_input("json", json.dumps(line), {"ignored": 1}) == line


def test_a_template_cannot_loop_the_server_forever() -> None:
    with pytest.raises(gt_template.TemplateError):
        render("{% for i in (1..100000000) %}x{% endfor %}", {})


def test_s3_grant_presigns_only_inside_the_owners_prefix(aws_env: None, tmp_path: Path) -> None:
    settings = FilesSettings.build(None, ["s3://lw-bucket/labelwire"])
    grant_for_7 = presign.s3_grant(settings, 7, seconds=90.4)
    url = urlsplit(grant_for_7("s3://lw-bucket/labelwire/7/img.jpg"))
    assert url.path.endswith("/img.jpg") and parse_qs(url.query)["X-Amz-Expires"] == ["90"]
    with pytest.raises(gt_template.GrantRefused, match="outside the S3 prefixes open to you"):
        grant_for_7("s3://lw-bucket/labelwire/8/img.jpg")
    with pytest.raises(gt_template.GrantRefused, match="names an invalid S3 bucket"):
        grant_for_7("s3://Bad_Bucket/x.jpg")


def test_the_groundtruth_workforce_sends_ground_truth_the_same_template() -> None:
    """One job definition runs on the pool or on Ground Truth itself."""
    from labelwire.adapters.base import JobView
    from labelwire.adapters.groundtruth.settings import custom_template_text

    config = {"groundtruth_template": "<crowd-form>{{ task.input.source }}</crowd-form>"}
    job = JobView("jobs/1", "J", "custom", (), "text", {}, config, 1, 1, 60, 600, 0, "label", {})
    assert custom_template_text(job) == config["groundtruth_template"]
