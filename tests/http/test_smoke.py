from tests.http.harness import AweTestCase

HELLO = {
    "info": {"name": "hello-1", "project": "sandbox", "user": "ana", "pipeline": "smoke"},
    "tasks": [{"taskid": "0", "cmd": {"name": "uname", "args": "-a"}}],
}


class HelloJobTest(AweTestCase):
    def test_one_task_job_runs_to_completed(self) -> None:
        job = self.submit(HELLO)
        client = self.register()
        work = self.checkout(client["id"])["data"]
        self.assertEqual(work["wuid"], f"{job['id']}_0_0")
        self.assertEqual(self.report(work["wuid"], client["id"])["data"], "ok")
        self.assertEqual(self.job(job["id"])["state"], "completed")
