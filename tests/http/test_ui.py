"""`/ui/` serves the page from the package; `/whoami` tells the page what the caller may do."""

from __future__ import annotations

import json

from tests.http.harness import AweTestCase

AUTH = {
    "anonymous": {"read": True, "write": False, "delete": False},
    "auth": {"tokens": {"ta": "ana", "tz": "zoe"}, "admin_users": ["zoe"]},
}


class PageTest(AweTestCase):
    def test_the_page_is_served_with_a_strict_content_policy(self) -> None:
        response = self.fetch("/ui/")
        assert response.code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert b'<script type="module" src="app.js">' in response.body
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
        script = self.fetch("/ui/app.js")
        assert script.code == 200 and "javascript" in script.headers["Content-Type"]

    def test_ui_without_slash_redirects_and_root_stays_awe_json(self) -> None:
        response = self.fetch("/ui", follow_redirects=False)
        assert response.code == 302 and response.headers["Location"] == "/ui/"
        root = json.loads(self.fetch("/").body)
        assert root["id"] == "AWE"

    def test_a_missing_file_is_a_json_404_and_no_escape(self) -> None:
        for path in ("/ui/nope.js", "/ui/..%2f..%2fserver.py", "/ui/%2e%2e/http/ui.py"):
            response = self.fetch(path)
            assert response.code in (403, 404), path
            assert json.loads(response.body)["error"], path


class WhoAmITest(AweTestCase):
    config_overrides = AUTH

    def who(self, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return self.call("GET", "/whoami", headers=headers, expect=200)["data"]

    def test_anonymous_callers_get_the_anonymous_rights(self) -> None:
        me = self.who()
        assert me["anonymous"] and me["user"] == "public"
        assert me["rights"] == {"read": True, "write": False, "delete": False}
        assert not me["queue_control"] and not me["client_control"]

    def test_a_user_may_act_on_own_jobs_but_not_on_the_queue(self) -> None:
        me = self.who("ta")
        assert (me["user"], me["admin"]) == ("ana", False)
        assert all(me["rights"].values())
        assert not me["queue_control"]

    def test_an_admin_may_control_the_queue(self) -> None:
        me = self.who("tz")
        assert me["admin"] and me["queue_control"] and me["client_control"]

    def test_a_wrong_token_is_refused(self) -> None:
        answer = self.call("GET", "/whoami", headers={"Authorization": "Bearer nope"})
        assert answer["_code"] == 401
