"""The web page in a real browser against a real awe-server: jobs, actions, live updates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.serverproc import ServerProcess
from tests.ui.conftest import Api, screenshot

WAIT_S = 15


def squares(name: str, project: str = "sandbox") -> dict[str, Any]:
    """A fan-out, fan-in job like examples/squares.json (three tasks, one split in three)."""
    return {
        "info": {"name": name, "project": project, "user": "ana", "pipeline": "demo"},
        "tasks": [
            {"taskid": "0", "cmd": {"name": "seq", "args": "1 300"}},
            {"taskid": "1", "dependsOn": ["0"], "totalwork": 3, "cmd": {"name": "awk"}},
            {"taskid": "2", "dependsOn": ["0", "1"], "cmd": {"name": "paste"}},
        ],
    }


def wait(browser: Any, condition: Any, message: str) -> Any:
    """Wait for `condition` up to WAIT_S; on failure keep a screenshot of what the page showed."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(browser, WAIT_S, poll_frequency=0.1).until(condition, message)
    except TimeoutException:
        screenshot(browser, "failed-" + "-".join(message.split()[:6]))
        raise


def state_of(browser: Any, job_id: str) -> str:
    """The state badge of a job's row in the list ("" when the row is not there)."""
    script = "const b = document.querySelector(arguments[0]); return b ? b.textContent : ''"
    return browser.execute_script(script, f'tr[data-job-id="{job_id}"] .badge')


def click(browser: Any, css: str, message: str) -> None:
    """Click what `css` finds, once it is there (the page re-renders as data comes in)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def clicked(b: Any) -> bool:
        try:
            found = b.find_elements(By.CSS_SELECTOR, css)
            if found:
                found[0].click()
            return bool(found)
        except StaleElementReferenceException:
            return False

    wait(browser, clicked, message)


def texts(browser: Any, css: str) -> list[str]:
    """The text of everything `css` finds, read in one go."""
    script = "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent)"
    return browser.execute_script(script, css)


def attrs(browser: Any, css: str, name: str) -> list[str]:
    script = "return [...document.querySelectorAll(arguments[0])].map((e) => e.getAttribute(arguments[1]))"
    return browser.execute_script(script, css, name)


def open_page(browser: Any, server: ServerProcess) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/ui/")
    wait(browser, lambda b: b.find_element(By.ID, "live").get_attribute("data-live") != "",
         "the page did not start")  # fmt: skip


def test_a_submitted_job_shows_and_suspend_works_without_reload(
    driver: Any, server: ServerProcess, api: Api
) -> None:
    from selenium.webdriver.common.by import By

    job = api.submit(squares("shown-and-suspended"))
    open_page(driver, server)
    wait(driver, lambda b: state_of(b, job["id"]) == "queued", "the job is not listed as queued")
    marker = driver.execute_script("window.__sameDocument = true; return 1")  # no reload below
    click(driver, f'tr[data-job-id="{job["id"]}"]', "no row to click")
    wait(driver, lambda b: attrs(b, "svg.graph .node", "data-task") == ["0", "1", "2"],
         "the task graph did not appear")  # fmt: skip
    click(driver, '#job-detail [data-action="suspend"]', "no suspend button")
    wait(driver, lambda b: state_of(b, job["id"]) == "suspend", "the row did not turn suspended")
    wait(driver, lambda b: b.find_elements(By.CSS_SELECTOR, '#job-detail [data-action="resume"]'),
         "no resume button after suspending")  # fmt: skip
    assert marker == 1 and driver.execute_script("return window.__sameDocument === true")
    assert api.data("GET", f"/job/{job['id']}")["state"] == "suspend"
    screenshot(driver, "ui-suspended")


def test_overview_with_jobs_in_every_state(driver: Any, server: ServerProcess, api: Api) -> None:
    """The README's screenshot: jobs in several states, one open with its graph and workunits."""

    worker = api.register("worker-1")
    api.register("bigmem-1", group="bigmem")
    done = api.submit(squares("squares", project="soil"))
    for _ in range(5):
        api.run_one(worker, stdout="1\n4\n9\n")
    running = api.submit(squares("squares-big", project="soil"))
    api.run_one(worker)
    api.data("GET", f"/work?client={worker}")  # a workunit of task 1 now runs on worker-1
    api.submit(squares("assembly", project="marine"))
    open_page(driver, server)
    driver.get(f"{server.url}/ui/#/job/{running['id']}")
    wait(driver, lambda b: state_of(b, done["id"]) == "completed", "completed job not listed")
    click(driver, f'#job-detail[data-job="{running["id"]}"] .node[data-task="1"]', "no graph")
    wait(driver, lambda b: sorted(texts(b, ".unit .badge")) == ["checkout", "queued", "queued"],
         "the workunits of task 1 are not shown with their states")  # fmt: skip
    path = screenshot(driver, "ui-overview")
    assert path.stat().st_size > 20_000  # a rendered page, not a blank one
    click(driver, "#tab-workers", "no workers tab")
    wait(driver, lambda b: sorted(texts(b, "#workers-body .job-name")) == ["bigmem-1", "worker-1"],
         "the workers are not listed")  # fmt: skip
    assert "active-busy" in texts(driver, "#workers-body tr .badge")
    screenshot(driver, "ui-workers")
    click(driver, "#tab-jobs", "no jobs tab")


def test_a_workunits_stdout_opens_in_a_dialog(driver: Any, server: ServerProcess, api: Api) -> None:
    from selenium.webdriver.common.by import By

    worker = api.register("worker-logs", apps=("echo",))  # this job's work, none of the others'
    job = api.submit(
        {"info": {"name": "hello"}, "tasks": [{"taskid": "0", "cmd": {"name": "echo"}}]}
    )
    api.run_one(worker, stdout="hello from the workunit\n")
    driver.get(f"{server.url}/ui/#/job/{job['id']}")
    click(driver, f'#job-detail[data-job="{job["id"]}"] .node[data-task="0"]', "no graph")
    click(driver, '.unit button[data-log="stdout"]', "no stdout button")
    wait(driver, lambda b: "hello from the workunit" in b.find_element(By.ID, "log-text").text,
         "stdout not shown")  # fmt: skip
    click(driver, "#log-close", "no close button")
    click(driver, '.unit button[data-log="stderr"]', "no stderr button")
    wait(driver, lambda b: "no stderr reported" in b.find_element(By.ID, "log-text").text,
         "an empty stderr is not said to be empty")  # fmt: skip
    screenshot(driver, "ui-log")
    driver.find_element(By.ID, "log-close").click()


def test_a_job_goes_from_queued_to_completed_live(
    driver: Any, server: ServerProcess, api: Api
) -> None:
    from selenium.webdriver.common.by import By

    if not api.events_flow():
        pytest.skip("this server publishes no events yet (the actors' events are not merged)")
    open_page(driver, server)
    wait(driver, lambda b: b.find_element(By.ID, "live").get_attribute("data-live") == "live",
         "the page's event stream did not open")  # fmt: skip
    driver.execute_script("window.__sameDocument = true")
    steps = [
        {"taskid": "0", "cmd": {"name": "livestep"}},
        {"taskid": "1", "dependsOn": ["0"], "totalwork": 2, "cmd": {"name": "livestep"}},
    ]
    job = api.submit({"info": {"name": "live"}, "tasks": steps})
    wait(driver, lambda b: state_of(b, job["id"]) == "queued", "new job not shown live")
    worker = api.register("worker-live", apps=("livestep",))  # this job's work only
    for _ in range(3):
        api.run_one(worker)
    wait(driver, lambda b: state_of(b, job["id"]) == "completed", "completion not shown live")
    assert driver.execute_script("return window.__sameDocument === true")
    screenshot(driver, "ui-live-completed")
    click(driver, f'tr[data-job-id="{job["id"]}"]', "no row to click")
    whats = "#job-detail .history td:nth-child(2)"
    wait(driver, lambda b: "job" in [t.strip() for t in texts(b, whats)],
         "the job's history is not shown")  # fmt: skip
    changes = texts(driver, "#job-detail .history td:nth-child(3)")
    assert changes[0].split() == ["in-progress", "→", "completed"]  # newest first
    driver.execute_script("document.querySelector('#job-detail').scrollTop = 10000")
    screenshot(driver, "ui-history")


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Anonymous callers may do nothing; ana and bob have tokens."""
    config = {
        "anonymous": {"read": False, "write": False, "delete": False},
        "auth": {"tokens": {"ana-token": "ana", "bob-token": "bob"}},
    }
    proc = ServerProcess(tmp_path_factory.mktemp("ui-auth") / "srv", config).start()
    yield proc
    proc.stop()


def test_a_token_entered_on_the_page_shows_that_users_jobs_only(
    driver: Any, locked_server: ServerProcess
) -> None:
    from selenium.webdriver.common.by import By

    ana, bob = (Api(locked_server.url, token) for token in ("ana-token", "bob-token"))
    mine = ana.submit(squares("ana's job"))
    theirs = bob.submit(squares("bob's job"))
    driver.get(locked_server.url + "/ui/")
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()
    wait(driver, lambda b: b.find_element(By.ID, "signin-needed").is_displayed(),
         "the page does not ask for a token")  # fmt: skip
    screenshot(driver, "ui-signin")
    driver.find_element(By.ID, "token").send_keys("ana-token")
    click(driver, "#signin-button", "no sign-in button")
    wait(driver, lambda b: state_of(b, mine["id"]) == "queued", "ana's job not listed")
    assert state_of(driver, theirs["id"]) == ""
    assert driver.find_element(By.ID, "who").text == "ana"
    assert driver.execute_script("return sessionStorage.getItem('awe.token')") == "ana-token"
    wait(driver, lambda b: b.find_element(By.ID, "live").get_attribute("data-live") == "live",
         "the event stream did not open with a ticket")  # fmt: skip
    screenshot(driver, "ui-signed-in")
    click(driver, "#signout", "no sign-out button")
    wait(driver, lambda b: b.find_element(By.ID, "signin-needed").is_displayed(),
         "signing out does not hide the jobs")  # fmt: skip
    assert driver.execute_script("return sessionStorage.getItem('awe.token')") is None
