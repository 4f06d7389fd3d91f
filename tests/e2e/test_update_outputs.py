"""Issue 14, items 4 and 7, end to end: a job in the shape of MG-RAST's templates runs on a real
server and worker against a Shock double; its done stage's `type: update` outputs get the nodes
earlier tasks made, and the worker writes the new attributes into exactly those nodes. The job
carries MG-RAST's data token (`Datatoken: mgrast <token>`), passed on to Shock unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.http.compat_scripts import mgrast_like
from tests.worker.shock_fixture import ShockFixture
from tests.worker.workerproc import cluster

TOKEN = "mgrast tok-4711"


def python(code: str, args: str = "") -> dict[str, Any]:
    """The command of a stage: a Python snippet (no single quotes) with `@file` arguments."""
    assert "'" not in code
    return {"name": "python3", "args": f"-c '{code}' {args}".strip()}


def runnable(shock: str, upload: str) -> dict[str, Any]:
    """The MG-RAST-shaped script with commands that make each stage's files."""
    script = mgrast_like(shock, upload)
    qc, passed, coding, stats = (
        "mgm4711.3.075.qc.stats",
        "mgm4711.3.100.preprocess.passed.fna",
        "mgm4711.3.350.genecalling.coding.faa",
        "mgm4711.3.statistics.json",
    )
    dump = "import json, sys; "
    cmds = [
        python(dump + f'open("{qc}", "w").write("reads 2\\n"); '
               f'json.dump({{"stage": "qc"}}, open("{qc}.json", "w"))'),
        python(dump + f'open("{passed}", "w").write(open(sys.argv[1]).read().upper()); '
               f'json.dump({{"stage": "preprocess"}}, open("{passed}.json", "w"))',
               "@mgm4711.3.050.upload.fastq"),
        python(dump + f'open("{coding}", "w").write(">p1\\nMKV\\n" + open(sys.argv[1]).read())',
               f"@{passed}"),
        python(dump + f'json.dump({{"done": True}}, open("{stats}", "w")); '
               f'json.dump({{"kind": "statistics"}}, open("{stats}.attr", "w")); '
               f'a = json.load(open("{passed}.json")); a["status"] = "public"; '
               f'json.dump(a, open("{passed}.json", "w")); '
               f'json.dump({{"stage": "genecalling", "status": "public"}}, open("{coding}.json", "w"))',
               f"@{qc} @{coding}"),
    ]  # fmt: skip
    for task, cmd in zip(script["tasks"], cmds, strict=True):
        task["cmd"] = {**task["cmd"], **cmd}
    return script


def test_update_outputs_write_into_the_nodes_of_earlier_tasks(tmp_path: Path) -> None:
    shock = ShockFixture(tmp_path / "shock").start()
    try:
        upload = shock.add_node(b"@r1\nacgt\n+\nIIII\n", name="upload.fastq")
        with cluster(tmp_path, workers=1) as (_, api, workers):
            upload_file = ("job.json", json.dumps(runnable(shock.url, upload)).encode())
            job = api.call("POST", "/job", fields={"upload": upload_file},
                           headers={"Datatoken": TOKEN})  # fmt: skip
            done = api.wait_state(job["id"], "completed", timeout=90)

            made = {t["taskid"].split("_")[1]: t["outputs"] for t in done["tasks"]}
            passed_node = made["1"][0]["node"]
            coding_node = made["2"][0]["node"]
            updated = {o["filename"]: o["node"] for o in made["3"] if o.get("type") == "update"}
            assert updated == {
                "mgm4711.3.100.preprocess.passed.fna": passed_node,
                "mgm4711.3.350.genecalling.coding.faa": coding_node,
            }
            # the done stage made one node of its own and wrote into the other two
            assert len(shock.nodes) == 1 + 4
            assert shock.nodes[passed_node].attributes == {
                "stage": "preprocess",
                "status": "public",
            }
            assert shock.nodes[coding_node].attributes == {
                "stage": "genecalling",
                "status": "public",
            }
            assert shock.data(passed_node) == b"@R1\nACGT\n+\nIIII\n"  # the data stays
            puts = [uri for method, uri in shock.requests if method == "PUT"]
            assert puts.count(f"/node/{passed_node}") == 2  # its upload, then the update
            assert workers[0].count(rf"node {coding_node} of output \S+ updated") == 1
            # MG-RAST's token reached Shock as given, from the server and from the worker
            assert {a for a in shock.auth_seen if a} == {TOKEN}
    finally:
        shock.stop()
