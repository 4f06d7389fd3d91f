"""Issue 14, item 7: `Authorization` prefixes configured as AWE's `oauth_bearers` (MG-RAST sends
`mgrast <token>`), and MG-RAST's `Datatoken: mgrast <token>` handed on unchanged."""

from __future__ import annotations

from tests.http.compat_scripts import mgrast_like
from tests.http.harness import AweTestCase
from tests.model.scripts import SHOCK

MGRAST = {"Authorization": "mgrast tok-ana"}


class TokenPrefixTest(AweTestCase):
    config_overrides = {
        "anonymous": {"read": False, "write": False, "delete": False},
        "auth": {
            "tokens": {"tok-ana": "ana"},
            "oauth_bearers": ["MGRAST"],
            "clientgroup_tokens": {"default": "cg-default"},  # workers need one once auth is on
        },
        "datastore": {"create_shock_nodes": False},
    }

    def test_a_configured_prefix_names_the_user_like_bearer_does(self) -> None:
        job = self.submit(mgrast_like(SHOCK, "node-raw"), headers=MGRAST)
        self.assertEqual(self.store.get_job(job["id"])["acl"]["owner"], "ana")
        for header in ("mgrast tok-ana", "MgRast tok-ana", "Bearer tok-ana", "OAuth tok-ana"):
            got = self.call("GET", f"/job/{job['id']}", headers={"Authorization": header})
            self.assertEqual((got["_code"], got["data"]["id"]), (200, job["id"]), header)

    def test_unknown_prefixes_and_tokens_are_refused(self) -> None:
        for header in ("kbase tok-ana", "mgrast tok-bob", "mgrasttok-ana"):
            got = self.call("GET", "/job", headers={"Authorization": header})
            self.assertEqual((got["_code"], got["error"]), (401, ["Invalid Auth Header"]), header)

    def test_the_data_token_keeps_its_prefix_for_the_worker(self) -> None:
        headers = {**MGRAST, "Datatoken": "mgrast data-tok"}
        job = self.submit(mgrast_like(SHOCK, "node-raw"), headers=headers)
        client = self.register("w")["id"]
        work = self.checkout(client, "&wait=10")["data"]
        self.assertTrue(work["info"]["auth"])
        got = self.call("GET", f"/work/{work['wuid']}?datatoken&client={client}",
                        headers=self.worker_headers(client), expect=200)  # fmt: skip
        self.assertEqual(got["_headers"]["Datatoken"], "mgrast data-tok")
        self.assertNotIn("data-tok", str(self.call("GET", f"/job/{job['id']}", headers=MGRAST)))


class WithoutPrefixTest(AweTestCase):
    config_overrides = {"auth": {"tokens": {"tok-ana": "ana"}}}

    def test_without_configuration_the_prefix_is_not_accepted(self) -> None:
        got = self.call("GET", "/job", headers=MGRAST)
        self.assertEqual((got["_code"], got["error"]), (401, ["Invalid Auth Header"]))
