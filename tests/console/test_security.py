"""Accounts and security of the console: every route behind sign-in, cookies, CSRF, throttle, sessions, audit."""

from __future__ import annotations

import re

from sqlalchemy import select

from console.app import COOKIE
from posts import accounts
from posts.operators import AuditEntry, OperatorSession, OperatorUser
from posts.settings import replace
from tests.console.conftest import PASSWORD, Site, csrf_of, sign_in
from wxbot import consoleapp


def _concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+:(int|str)\}", lambda m: "1" if m.group(1) == "int" else "admin1", path)


def test_every_route_but_sign_in_and_static_needs_a_session(site: Site) -> None:
    client = site.client()
    assert len(site.console.routes) >= 15
    for method, path in site.console.routes:
        response = client.request(method, _concrete(path), data={"csrf": "x"})
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/signin"), (method, path)
    assert client.get("/no/such/page").headers["location"] == "/signin"
    assert client.get("/signin").status_code == 200
    assert client.get("/static/console.css").status_code == 200
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200


def test_the_session_cookie_is_http_only_and_same_site_and_secure_behind_https(site: Site) -> None:
    client = site.client()
    response = sign_in(client, "editor1", PASSWORD)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    secure = replace(site.settings, console={"https": True})
    app = consoleapp.build(secure, site.sessions, site.console.catalog, site.clock)
    from starlette.testclient import TestClient

    https = TestClient(app.app, base_url="https://console.test", follow_redirects=False)
    response = sign_in(https, "editor1", PASSWORD)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE + "="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_the_cookie_carries_a_token_whose_hash_alone_is_stored(site: Site) -> None:
    client = site.signed_in("editor1")
    token = client.cookies[COOKIE]
    with site.sessions() as session:
        rows = list(session.scalars(select(OperatorSession)))
        assert len(rows) == 1 and rows[0].token_hash != token and len(rows[0].token_hash) == 64
        user = session.scalar(select(OperatorUser).where(OperatorUser.username == "editor1"))
        assert user is not None and user.password_hash.startswith("$argon2id$")


def test_a_form_without_its_csrf_token_is_refused_with_a_plain_403(site: Site) -> None:
    client = site.signed_in("editor1")
    for data in ({}, {"csrf": "forged"}):
        response = client.post("/signout", data=data)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/plain")
        assert "安全校验码" in response.text
    assert client.get("/").status_code == 200  # still signed in: the forged sign-out did nothing
    response = client.post("/signout", data={"csrf": csrf_of(client.get("/").text)})
    assert response.status_code == 303


def test_the_htmx_header_carries_the_token_too(site: Site) -> None:
    client = site.signed_in("admin1")
    token = csrf_of(client.get("/").text)
    assert client.post("/notices/read", headers={"X-CSRF-Token": token}).status_code == 303


def test_the_sign_in_form_needs_its_token(site: Site) -> None:
    client = site.client()
    response = client.post("/signin", data={"username": "editor1", "password": PASSWORD})
    assert response.status_code == 403 and "安全校验码" in response.text


def test_the_sixth_attempt_after_five_wrong_passwords_is_refused_even_when_right(site: Site) -> None:
    client = site.client()
    for n in range(5):
        response = sign_in(client, "reviewer1", f"wrong password {n}")
        assert response.status_code == 401
        assert "用户名或密码不对" in response.text
    response = sign_in(client, "reviewer1", PASSWORD)
    assert response.status_code == 429
    assert "已被锁定" in response.text and "2026-12-01 10:15" in response.text  # local time, 15 minutes on
    site.clock.advance(minutes=16)
    assert sign_in(client, "reviewer1", PASSWORD).status_code == 303


def test_a_good_sign_in_resets_the_count(site: Site) -> None:
    client = site.client()
    for _ in range(4):
        sign_in(client, "sender1", "nope nope nope")
    assert sign_in(client, "sender1", PASSWORD).status_code == 303
    for _ in range(4):
        assert sign_in(site.client(), "sender1", "nope nope nope").status_code == 401
    assert sign_in(site.client(), "sender1", PASSWORD).status_code == 303


def test_one_address_trying_many_accounts_is_refused(site: Site) -> None:
    site.console.rules = replace(site.settings, console={"address_max_failures": 3}).console
    client = site.client()
    for name in ("editor1", "editor2", "nobody"):
        assert sign_in(client, name, "wrong wrong wrong").status_code == 401
    response = sign_in(client, "sender1", PASSWORD)
    assert response.status_code == 429 and "这台电脑" in response.text
    site.clock.advance(minutes=16)
    assert sign_in(client, "sender1", PASSWORD).status_code == 303


def test_an_unknown_user_and_a_disabled_one_get_the_same_answer(site: Site) -> None:
    with site.sessions() as session:
        accounts.disable_user(session, "editor2", by="test", now=site.clock())
        session.commit()
    for name in ("ghost", "editor2"):
        response = sign_in(site.client(), name, PASSWORD)
        assert response.status_code == 401 and "用户名或密码不对" in response.text


def test_sessions_end_when_idle_and_at_their_absolute_end(site: Site) -> None:
    client = site.signed_in("editor1")
    site.clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    site.clock.advance(minutes=31)
    assert client.get("/").headers["location"].startswith("/signin")
    client = site.signed_in("editor1")
    for _ in range(11 * 3 + 2):  # active every 20 minutes: idle never, absolute after 12 hours
        site.clock.advance(minutes=20)
        assert client.get("/posts").status_code == 200
    site.clock.advance(minutes=20)
    assert client.get("/posts").headers["location"].startswith("/signin")


def test_sign_out_and_disable_revoke_sessions(site: Site) -> None:
    client = site.signed_in("editor1")
    cookie = client.cookies[COOKIE]
    client.post("/signout", data={"csrf": csrf_of(client.get("/").text)})
    thief = site.client()
    thief.cookies.set(COOKIE, cookie)
    assert thief.get("/").status_code == 303
    other = site.signed_in("editor2")
    admin = site.signed_in("admin1")
    response = admin.post("/users/editor2/disable", data={"csrf": csrf_of(admin.get("/users").text)})
    assert response.status_code == 303
    assert other.get("/").status_code == 303


def test_admin_pages_are_for_admins(site: Site) -> None:
    editor = site.signed_in("editor1")
    for path in ("/users", "/settings", "/audit"):
        assert editor.get(path).status_code == 403
    admin = site.signed_in("admin1")
    page = admin.get("/settings")
    assert page.status_code == 200 and "console.port" in page.text and "app_secret" in page.text


def test_the_audit_log_says_who_did_what_when(site: Site) -> None:
    site.signed_in("editor1")
    with site.sessions() as session:
        actions = [(a.actor, a.action, a.target) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert ("test", "user-add", "user:editor1") in actions
    assert ("editor1", "sign-in", "session") in actions
