"""A real awe-server and Debian's chromium, driven headless by selenium, for the page's tests.

Without /usr/bin/chromium and /usr/bin/chromedriver the tests are skipped, saying so; `.ci/run`
installs both and sets AWE_REQUIRE_BROWSER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from tests.e2e.serverproc import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("AWE_TEST_ARTIFACTS", REPO / "test-artifacts"))
# the flags this machine's headless chromium needs (no sandbox as root, no network chatter)
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--force-device-scale-factor=1", "--window-size=1440,1000",
)  # fmt: skip


def browser_missing() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[test]')"
    return ""


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    reason = browser_missing()
    if reason:
        if os.environ.get("AWE_REQUIRE_BROWSER"):
            pytest.fail(f"AWE_REQUIRE_BROWSER is set but {reason}")
        pytest.skip(f"browser test skipped: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="awe-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = {"events": {"keepalive_s": 1.0}, "title": "awe demo"}
    proc = ServerProcess(tmp_path_factory.mktemp("ui") / "srv", config).start()
    yield proc
    proc.stop()


class Api:
    """The REST API as a script or a worker uses it (urllib3), to set scenes for the page."""

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.token = token
        self.pool = urllib3.PoolManager(retries=False)

    def data(self, method: str, path: str, fields: dict[str, Any] | None = None) -> Any:
        body, headers = None, {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if fields is not None:
            body, content_type = urllib3.encode_multipart_formdata(fields)
            headers["Content-Type"] = content_type
        response = self.pool.request(method, self.url + path, body=body, headers=headers)
        envelope = json.loads(response.data)
        assert envelope["error"] is None, envelope
        return envelope["data"]

    def submit(self, script: dict[str, Any]) -> dict[str, Any]:
        return self.data("POST", "/job", {"upload": ("job.json", json.dumps(script).encode())})

    def register(self, name: str, group: str = "default", apps: tuple[str, ...] = ("*",)) -> str:
        profile = json.dumps({"name": name, "group": group, "apps": list(apps)}).encode()
        return self.data("POST", "/client", {"profile": ("p.json", profile)})["id"]

    def run_one(self, client: str, stdout: str = "") -> str:
        """Check out one workunit as `client` and report it done."""
        wuid = self.data("GET", f"/work?client={client}")["wuid"]
        parts = {"stdout": ("stdout", stdout.encode())} if stdout else {}
        self.data("PUT", f"/work/{wuid}?status=done&client={client}&report", parts)
        return wuid

    def events_flow(self, timeout: float = 3.0) -> bool:
        """Does this server publish events? (Only once the actors do; until then it is silent.)"""
        seen = threading.Event()

        def listen() -> None:
            try:
                response = self.pool.request(
                    "GET", self.url + "/events", preload_content=False,
                    timeout=urllib3.Timeout(read=timeout),
                )  # fmt: skip
                for line in response.stream(256):
                    if b"data:" in line:
                        seen.set()
                        break
                response.release_conn()
            except urllib3.exceptions.HTTPError:
                pass

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        self.submit(
            {"info": {"name": "probe"}, "tasks": [{"taskid": "0", "cmd": {"name": "true"}}]}
        )
        seen.wait(timeout)
        return seen.is_set()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Api:
    return Api(server.url)


def screenshot(browser: Any, name: str) -> Path:
    """Save the window as PNG under the artifacts dir; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path
