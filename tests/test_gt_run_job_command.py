"""The `run-groundtruth-job` command itself, over a real port and a real S3 server: it
names each failed object and exits 1, refuses a Lambda its policy does not allow, and
fails the objects no worker answers in time while the job runs on."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from labelwire.client.raw import Client
from labelwire.server.cli import run_groundtruth
from labelwire.server.cli.main import _parser
from labelwire.server.files.policy import FilesSettings
from labelwire.v1 import job_pb2
from tests.conftest import Clock, Harness, client_folder, serving
from tests.test_gt_run_job import HERE, POLICY, TEMPLATE, client_id, definition, fresh_events

__all__ = ["fresh_events"]  # the autouse fixture, shared with test_gt_run_job.py


def command_args(harness: Harness, lw: Client, folder: Path, *extra: str) -> Any:
    request = {
        "LabelingJobName": "animals-1",
        "LabelAttributeName": "animal",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "in.manifest"}}},
        "OutputConfig": {"S3OutputPath": "out"},
        "RoleArn": "arn:aws:iam::111122223333:role/GroundTruthExec",
        "HumanTaskConfig": {
            "WorkteamArn": "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/t",
            "UiConfig": {"UiTemplateS3Uri": "s3://bkt/template.liquid"},
            "PreHumanTaskLambdaArn": "arn:aws:lambda:us-east-1:111122223333:function:gt-pre",
            "TaskTitle": "Which animal?",
            "TaskDescription": "Pick the animal in the picture",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
        },
    }
    (folder.parent / "job.json").write_text(json.dumps(request))
    (folder.parent / "template.liquid").write_text(TEMPLATE)
    key = dict(lw.metadata)["authorization"].removeprefix("Bearer ")
    return _parser().parse_args(
        [
            "run-groundtruth-job",
            str(folder.parent / "job.json"),
            "--template",
            str(folder.parent / "template.liquid"),
            "--address",
            harness.target,
            "--api-key",
            key,
            "--files-root",
            str(folder.parent),
            "--hook-allow",
            f"{HERE}:pre_hook",
            "--hook-attempts",
            "1",
            *extra,
        ]
    )


async def test_the_command_names_each_failed_object_and_exits_1(
    database: str, clock: Clock, tmp_path: Path
) -> None:
    async with serving(database, clock, FilesSettings.build(tmp_path)) as harness:
        lw = await harness.client()
        folder = client_folder(tmp_path, lw)
        lines = [
            {"source": "no picture", "broken": True},
            {"source-ref": "https://img.example/1.jpg", "skip": True},
            {"source": "too much", "huge": True},
        ]
        (folder / "in.manifest").write_text("".join(json.dumps(line) + "\n" for line in lines))
        out, err = io.StringIO(), io.StringIO()
        args = command_args(harness, lw, folder, "--pre-hook", f"python:{HERE}:pre_hook")
        code = await run_groundtruth.main(args, out, err)
        await lw.close()
    assert code == 1
    assert err.getvalue() == (
        f"object 0 failed: pre-labeling: the hook python:{HERE}:pre_hook failed 1 time;"
        " last: ValueError: this line has no picture\n"
        "object 2 failed: pre-labeling: the hook's taskInput has 1,048,588 bytes; an item holds at most 1,048,576\n"
    )
    assert out.getvalue() == (
        "animals-1: 0 of 3 objects labeled, 1 skipped, 2 failed; output manifest out/animals-1/manifests/output/output.manifest\n"
    )
    written = (folder / "out/animals-1/manifests/output/output.manifest").read_text().splitlines()
    assert [json.loads(line) for line in written][1] == lines[1]


async def test_the_command_refuses_a_lambda_it_cannot_call(
    database: str, clock: Clock, tmp_path: Path
) -> None:
    async with serving(database, clock, FilesSettings.build(tmp_path)) as harness:
        lw = await harness.client()
        folder = client_folder(tmp_path, lw)
        out, err = io.StringIO(), io.StringIO()
        code = await run_groundtruth.main(command_args(harness, lw, folder), out, err)
        jobs = [job async for job in lw.list_jobs()]
        await lw.close()
    assert code == 2 and jobs == [] and out.getvalue() == ""
    assert err.getvalue().startswith(
        "labelwire run-groundtruth-job: HumanTaskConfig.PreHumanTaskLambdaArn is the Lambda"
        " 'arn:aws:lambda:us-east-1:111122223333:function:gt-pre'; labelwire calls hooks itself"
    )


async def test_objects_no_worker_answers_in_time_fail_with_the_reason_and_the_job_runs_on(
    database: str, clock: Clock, tmp_path: Path
) -> None:
    settings = FilesSettings.build(tmp_path)
    async with serving(database, clock, settings) as harness:
        lw = await harness.client()
        folder = client_folder(tmp_path, lw)
        (folder / "in.manifest").write_text(json.dumps({"source-ref": "https://img.example/0.jpg"}) + "\n")
        pre = run_groundtruth.gt_hooks.parse_hook(f"python:{HERE}:pre_hook", "pre", POLICY)
        summary = await run_groundtruth.run_job(
            lw,
            definition("in.manifest", "out"),
            TEMPLATE,
            settings=settings,
            client_id=client_id(lw),
            policy=POLICY,
            pre_hook=pre,
            post_hook=None,
            poll_seconds=0.02,
            timeout_seconds=0.2,
        )
        state = (await lw.get_job(summary.job)).state
        await lw.close()
    assert summary.failed == {"0": f"no worker answered within 0.2 s (the job {summary.job} runs on)"}
    assert state == job_pb2.JOB_STATE_RUNNING
    [line] = (folder / "out/animals-1/manifests/output/output.manifest").read_text().splitlines()
    assert json.loads(line)["animal-metadata"]["failure-reason"] == summary.failed["0"]
