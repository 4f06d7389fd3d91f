"""Running a command: own environment, no shell, captured output, process-group kill."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from awe.worker.runner import Command, resolve_command, tail
from tests.worker.helpers import wait_for


def command(tmp_path: Path, argv: list[str], env: dict[str, str] | None = None) -> Command:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return Command(
        argv, tmp_path, {**base, **(env or {})}, tmp_path / "out.txt", tmp_path / "err.txt"
    )


def test_stdout_and_stderr_go_to_their_files(tmp_path: Path) -> None:
    script = "import sys; print('to out'); print('to err', file=sys.stderr)"
    result = command(tmp_path, [sys.executable, "-c", script]).run()
    assert result.ok and result.returncode == 0
    assert (tmp_path / "out.txt").read_text() == "to out\n"
    assert (tmp_path / "err.txt").read_text() == "to err\n"


def test_the_child_gets_exactly_the_environment_given(tmp_path: Path) -> None:
    os.environ["AWE_TEST_LEAK"] = "worker"
    try:
        script = "import os, json; print(json.dumps(dict(os.environ)))"
        env = {"ONLY_CHILD": "yes"}
        command(tmp_path, [sys.executable, "-c", script], env).run()
    finally:
        del os.environ["AWE_TEST_LEAK"]
    seen = json.loads((tmp_path / "out.txt").read_text())
    assert seen["ONLY_CHILD"] == "yes"
    assert "AWE_TEST_LEAK" not in seen
    assert "ONLY_CHILD" not in os.environ


def test_no_shell_interprets_the_arguments(tmp_path: Path) -> None:
    result = command(tmp_path, ["echo", "$HOME", ";", "ls", "|", "*"]).run()
    assert result.ok
    assert (tmp_path / "out.txt").read_text() == "$HOME ; ls | *\n"


def test_the_command_runs_in_the_work_dir(tmp_path: Path) -> None:
    command(tmp_path, ["pwd"]).run()
    assert (tmp_path / "out.txt").read_text().strip() == str(tmp_path)


def test_a_nonzero_exit_status_is_reported(tmp_path: Path) -> None:
    result = command(tmp_path, [sys.executable, "-c", "import sys; sys.exit(3)"]).run()
    assert result.returncode == 3 and not result.ok


def test_an_unknown_command_does_not_start(tmp_path: Path) -> None:
    result = command(tmp_path, ["no-such-command-awe"]).run()
    assert result.returncode is None
    assert "command not found in PATH: no-such-command-awe" in result.error


def test_commands_are_found_through_the_childs_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "mytool"
    tool.write_text("#!/bin/sh\necho from mytool\n")
    tool.chmod(0o755)
    assert resolve_command("mytool", {"PATH": str(bin_dir)}, tmp_path) == str(tool)
    result = command(tmp_path, ["mytool"], {"PATH": f"{bin_dir}:/usr/bin:/bin"}).run()
    assert result.ok and (tmp_path / "out.txt").read_text() == "from mytool\n"


def test_memory_is_measured_on_the_child(tmp_path: Path) -> None:
    script = "b = bytearray(64 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"
    result = command(tmp_path, [sys.executable, "-c", script]).run()
    assert result.ok
    assert result.max_rss_bytes > 64 * 1024 * 1024


def test_kill_takes_the_whole_process_group(tmp_path: Path) -> None:
    # The command starts a grandchild and writes both pids; kill must end both.
    script = (
        "import subprocess, sys, time;"
        "p = subprocess.Popen(['sleep', '60']);"
        "open('pids', 'w').write(f'{p.pid}\\n');"
        "time.sleep(60)"
    )
    cmd = command(tmp_path, [sys.executable, "-c", script])
    results = []
    thread = threading.Thread(target=lambda: results.append(cmd.run()))
    thread.start()
    wait_for(
        lambda: (tmp_path / "pids").exists() and (tmp_path / "pids").read_text().endswith("\n")
    )
    grandchild = int((tmp_path / "pids").read_text())
    cmd.kill()
    thread.join(10)
    assert results and results[0].killed and not results[0].ok
    wait_for(lambda: not _alive(grandchild), what="grandchild gone")


def test_kill_before_start_means_it_never_starts(tmp_path: Path) -> None:
    cmd = command(tmp_path, ["touch", "started"])
    cmd.kill()
    result = cmd.run()
    assert result.killed and result.returncode is None
    assert not (tmp_path / "started").exists()


def test_tail_returns_the_end_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x" * 5000 + "the end")
    assert tail(tmp_path / "f", 7) == "the end"
    assert tail(tmp_path / "missing") == ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False
