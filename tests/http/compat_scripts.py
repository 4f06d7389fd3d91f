"""Job scripts shaped like MG-RAST's production templates (written for these tests).

What the real ones have and these keep: map-form IO keyed by templated file names
(`<job>.<stage>.<step>.<ext>`), Shock inputs with `origin`, `attrfile`s, `delete: true`
intermediates, `partinfo`, job and task `userattr`, a private environment, and a last "done"
stage whose `type: update` outputs write attributes into nodes made by earlier tasks.
"""

from __future__ import annotations

from typing import Any


def _node(shock: str, **more: Any) -> dict[str, Any]:
    return {"host": shock, "node": "-", **more}


def mgrast_like(
    shock: str, upload_node: str, job: str = "mgm4711.3", pipeline: str = "mgrast-prod"
) -> dict[str, Any]:
    """Four stages: qc and preprocess of an uploaded node, genecalling, and the done stage."""
    raw = f"{job}.050.upload.fastq"
    qc = f"{job}.075.qc.stats"
    passed = f"{job}.100.preprocess.passed.fna"
    coding = f"{job}.350.genecalling.coding.faa"
    stats = f"{job}.statistics.json"
    return {
        "info": {
            "pipeline": pipeline,
            "name": job,
            "project": "mgp128",
            "user": "mgu77",
            "clientgroups": "",
            "priority": 3,
            "userattr": {"id": job, "job_id": "4711", "status": "private", "type": "metagenome"},
        },
        "tasks": [
            {
                "taskid": "0",
                "cmd": {
                    "name": "awe_qc.pl",
                    "args": f"-input=@{raw} -out_prefix={job}.075",
                    "description": "qc_stats",
                },
                "dependsOn": [],
                "inputs": {raw: {"host": shock, "node": upload_node}},
                "outputs": {qc: _node(shock, delete=True, attrfile=f"{qc}.json")},
                "userattr": {"stage_id": "075", "stage_name": "qc"},
                "totalwork": 1,
            },
            {
                "taskid": "1",
                "cmd": {
                    "name": "awe_preprocess.pl",
                    "args": f"-input=@{raw}",
                    "description": "preprocess",
                },
                "dependsOn": [],
                "inputs": {raw: {"host": shock, "node": upload_node}},
                "outputs": {passed: _node(shock, attrfile=f"{passed}.json")},
                "userattr": {"stage_id": "100", "stage_name": "preprocess"},
                "totalwork": 1,
            },
            {
                "taskid": "2",
                "cmd": {
                    "name": "awe_genecalling.pl",
                    "args": f"-input=@{passed}",
                    "description": "genecalling",
                },
                "dependsOn": ["1"],
                "inputs": {passed: _node(shock, origin="1")},
                "outputs": {coding: _node(shock, attrfile="userattr.json")},
                "partinfo": {"input": passed, "output": coding},
                "userattr": {"stage_id": "350", "stage_name": "genecalling"},
                "totalwork": 1,
            },
            {
                "taskid": "3",
                "cmd": {
                    "name": "awe_done.pl",
                    "args": f"-job=4711 -qc=@{qc} -genecall=@{coding}",
                    "description": "done stage",
                    "environ": {"private": {"JOB_DB_PASS": "s3cret"}},
                },
                "dependsOn": ["0", "1", "2"],
                "inputs": {
                    qc: _node(shock, origin="0", attrfile=f"{qc}.json"),
                    passed: _node(shock, origin="1", nofile=True, attrfile=f"{passed}.json"),
                    coding: _node(shock, origin="2", attrfile=f"{coding}.json"),
                },
                "outputs": {
                    stats: _node(shock, attrfile=f"{stats}.attr"),
                    passed: _node(shock, origin="1", type="update", attrfile=f"{passed}.json"),
                    coding: _node(shock, origin="2", type="update", attrfile=f"{coding}.json"),
                },
                "userattr": {"stage_id": "999", "stage_name": "done"},
                "totalwork": 1,
            },
        ],
    }


def all_skipped(shock: str, upload_node: str) -> dict[str, Any]:
    """Skippable stages (one input, one output, at most one dependency), every one `skip: 1`."""
    script = mgrast_like(shock, upload_node)
    script["tasks"] = [{**task, "skip": 1} for task in script["tasks"][:3]]
    return script
