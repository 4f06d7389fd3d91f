"""A store that fails while running: 503 with a clear message, and nothing answered as done."""

from __future__ import annotations

from typing import Any

from awe.store.base import Batch, StoreUnavailable
from tests.http.harness import AweTestCase
from tests.http.scripts import HELLO


class FlakyStore:
    """The real store, with writes and reads that fail while `down` is set."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.down = False

    def save_batch(self, batch: Batch) -> None:
        if self.down:
            raise StoreUnavailable("connection refused by the test")
        self.inner.save_batch(batch)

    def get_job(self, job_id: str) -> Any:
        if self.down:
            raise StoreUnavailable("connection refused by the test")
        return self.inner.get_job(job_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class StoreDownTest(AweTestCase):
    def open_store(self):  # noqa: ANN201 - the harness hook
        self.flaky = FlakyStore(super().open_store())
        return self.flaky

    def test_report_while_the_store_is_down_is_a_503_then_written_on_retry(self) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register()
        work = self.checkout(client["id"])["data"]
        self.flush()
        self.flaky.down = True
        answer = self.report(work["wuid"], client["id"])
        self.assertEqual(answer["_code"], 503)
        self.assertIn("store unavailable, change not saved", answer["error"][0])
        self.assertEqual(self.flaky.inner.get_job(jid)["state"], "in-progress")  # not written
        retried = self.report(work["wuid"], client["id"])  # a worker retries: still not saved
        self.assertEqual(retried["_code"], 503)
        self.assertIn("store unavailable, change not saved", retried["error"][0])
        stored = self.call("GET", "/job?limit=5")  # listing reads the store: fine, not down
        self.assertEqual(stored["_code"], 200)
        unknown = self.call("GET", "/job/not-live-anywhere")
        self.assertEqual((unknown["_code"], unknown["error"][0][:17]), (503, "store unavailable"))
        self.flaky.down = False
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")  # written now
        self.assertEqual(self.flaky.inner.get_job(jid)["state"], "completed")

    def test_a_checkout_that_cannot_be_saved_is_a_503_and_its_workunit_stays_available(
        self,
    ) -> None:
        jid = self.submit(HELLO)["id"]
        client = self.register()
        self.flaky.down = True
        refused = self.checkout(client["id"])
        self.assertEqual(refused["_code"], 503)
        self.flaky.down = False
        work = self.checkout(client["id"])["data"]  # not leaked to a worker that never got it
        self.assertEqual(work["wuid"], f"{jid}_0_0")
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.assertEqual(self.flaky.inner.get_job(jid)["state"], "completed")
