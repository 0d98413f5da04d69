"""The console's web application (Starlette, ASGI): sign-in, pages and the actions they post.

Nothing but the sign-in page and the static files answers without a session: every other route redirects to
sign-in. Every form carries the session's CSRF token (a form without it is refused with 403). Pages are rendered
by the project's one Jinja environment (posts/render.py), from console/templates/console/.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from console import analytics_pages, data, editor, forms
from console import inbox as inbox_pages
from console import sendtome as sendtome_pages
from console.words import say, table
from posts import accounts, approval
from posts.accounts import AccountError
from posts.approval import ApprovalError
from posts.catalog import Catalog
from posts.clock import Clock
from posts.live import catalog_from_db, current_version
from posts.operators import ROLES, OperatorSession, OperatorUser
from posts.preview import Planner, failed
from posts.queue import POST_STATES, Post, PostEvent
from posts.render import environment
from posts.revisions import Router
from posts.settings import SECRET_KEYS, Settings, setting_keys

COOKIE = "wxbot_console"
SIGNIN_COOKIE = "wxbot_console_signin"
"""Before sign-in there is no session: the sign-in form's token is checked against this cookie instead."""
STATIC = Path(__file__).with_name("static")
PUBLIC = ("/signin", "/static")


@dataclass
class Ctx:
    """One signed-in request: the user, their session row, the database session, the time, the posted form."""

    request: Request
    db: Session
    user: OperatorUser
    signed: OperatorSession
    now: datetime
    form: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Any, Ctx], Response]


class Console:
    """``Console(settings, sessions, catalog, clock, planner).app`` is the ASGI application."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        clock: Clock,
        planner: Planner | None = None,
    ) -> None:
        self.settings = settings
        self.rules = settings.console
        self.sessions = sessions
        self.catalog = catalog
        self.clock = clock
        self.planner = planner
        self.planner_for: Callable[[Catalog], Planner] | None = None
        """Builds the dry-run planner for a catalog: set by wxbot/, so previews follow the content written here."""
        self.router: Router | None = None
        """Where a typed text goes in a catalog (the bot's own rules): set by wxbot/, so a keyword reply written
        here is checked against every rule the bot tries before it (posts.revisions.Router)."""
        self.content_version: int | None = None
        """The content version ``catalog`` was built from (None: the one given at start)."""
        self.tz = settings.scheduler.timezone
        self.env = environment()
        self.routes: list[tuple[str, str]] = []
        """(method, path) of every route behind the sign-in: the test walks them all."""
        app_routes = [
            Route("/signin", self.signin_page, methods=["GET"]),
            Route("/signin", self.signin, methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        ]
        guarded: list[tuple[str, str, Handler]] = [
            ("GET", "/", Console.dashboard),
            ("POST", "/signout", Console.signout),
            ("GET", "/posts", Console.post_list),
            ("GET", "/calendar", Console.calendar_page),
            ("GET", "/compose", Console.compose_page),
            ("POST", "/compose", Console.compose),
            ("GET", "/audience-count", Console.audience_count),
            ("GET", "/posts/{post_id:int}", Console.post_page),
            ("GET", "/posts/{post_id:int}/edit", Console.edit_page),
            ("POST", "/posts/{post_id:int}/edit", Console.edit),
            ("GET", "/posts/{post_id:int}/preview", Console.preview_page),
            ("GET", "/posts/{post_id:int}/report", Console.report_page),
            *sendtome_pages.ROUTES,  # before the generic action route below
            ("POST", "/posts/{post_id:int}/{action:str}", Console.act),
            ("GET", "/users", Console.users_page),
            ("POST", "/users/{username:str}/disable", Console.disable_user),
            ("GET", "/settings", Console.settings_page),
            ("GET", "/audit", Console.audit_page),
            ("POST", "/notices/read", Console.read_notices),
            *analytics_pages.ROUTES,
            *inbox_pages.ROUTES,
        ]
        guarded += [(method, path, getattr(editor, name)) for method, path, name in editor.ROUTES]
        for method, path, handler in guarded:
            self.routes.append((method, path))
            app_routes.append(Route(path, self._guard(handler), methods=[method]))
        self.app = Starlette(routes=app_routes, exception_handlers={404: self.not_found, 405: self.not_found})

    # -- plumbing ---------------------------------------------------------------------------------------------

    def render(self, name: str, request: Request, status: int = 200, ctx: Ctx | None = None, **values: Any) -> Response:
        user = ctx.user if ctx else None
        names = {u.username: u.name for u in accounts.list_users(ctx.db)} if ctx else {}
        context = {
            "name_of": lambda username: names.get(username, username),
            "user": user,
            "csrf": ctx.signed.csrf_token if ctx else values.pop("csrf", ""),
            "path": request.url.path,
            "say": say,
            "words": table(),
            "local": lambda value, fmt="%Y-%m-%d %H:%M": data.local(value, self.tz, fmt),
            "can": (lambda action: approval.can(user.role, action)) if user else (lambda action: False),
            "done": say("done", request.query_params["done"], count=request.query_params.get("count", ""))
            if request.query_params.get("done") in table()["done"]
            else "",
            "tz": self.tz,
            "title_of": lambda post: data.content_title(self.catalog, post.content, post),
            "audience_of": lambda audience: data.audience_words(self.catalog, audience),
            "urgent_inbox": (lambda: inbox_pages.urgent_count(ctx.db)) if ctx else (lambda: 0),
            **values,
        }
        body = self.env.get_template(f"console/{name}.html.j2").render(**context)
        return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)

    def refresh_catalog(self) -> None:
        """Follow the content version (posts/live.py): what a reviewer approved here is what the pages offer next."""
        with self.sessions() as db:
            version = current_version(db)
            if version == 0 or version == self.content_version:
                return
            self.catalog = catalog_from_db(db)
        self.content_version = version
        if self.planner_for is not None:
            self.planner = self.planner_for(self.catalog)

    def _cookie_token(self, request: Request) -> str | None:
        return request.cookies.get(COOKIE)

    def _guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form: dict[str, str] = {}
            if request.method == "POST":
                raw = await request.form()
                form = {key: str(value) for key, value in raw.items()}
            return await run_in_threadpool(self._handle, request, form, handler)  # database work off the loop

        return endpoint

    def _handle(self, request: Request, form: dict[str, str], handler: Handler) -> Response:
        with self.sessions() as db:
            now = self.clock()
            found = accounts.current(db, self._cookie_token(request), now=now, rules=self.rules)
            if found is None:
                db.rollback()
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
            user, signed = found
            if request.method == "POST":
                given = form.get("csrf") or request.headers.get("x-csrf-token") or ""
                if not hmac.compare_digest(given.encode(), signed.csrf_token.encode()):
                    db.rollback()
                    return PlainTextResponse(say("errors", "csrf"), status_code=403, headers=_SECURITY_HEADERS)
            db.commit()  # the session's last use
            self.refresh_catalog()
            return handler(self, Ctx(request, db, user, signed, now, form))

    async def not_found(self, request: Request, exc: Exception) -> Response:
        signed = await run_in_threadpool(self._signed_in, request)
        if not signed:
            return RedirectResponse("/signin", status_code=303)
        return PlainTextResponse(say("errors", "no_page"), status_code=404, headers=_SECURITY_HEADERS)

    def _signed_in(self, request: Request) -> bool:
        with self.sessions() as db:
            found = accounts.current(db, self._cookie_token(request), now=self.clock(), rules=self.rules) is not None
            db.commit()
            return found

    def refuse(self, ctx: Ctx, code: str, status: int = 403) -> Response:
        return self.render("refused", ctx.request, status=status, ctx=ctx, message=say("errors", code))

    # -- sign-in ----------------------------------------------------------------------------------------------

    async def signin_page(self, request: Request, error: str = "", status: int = 200, username: str = "") -> Response:
        token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(24)
        nxt = request.query_params.get("next", "/")
        response = self.render(
            "signin", request, status=status, csrf=token, error=error, username=username, next=_local_path(nxt)
        )
        response.set_cookie(
            SIGNIN_COOKIE, token, httponly=True, samesite="lax", secure=self.rules.https, path="/signin", max_age=3600
        )
        return response

    async def signin(self, request: Request) -> Response:
        raw = await request.form()
        form = {key: str(value) for key, value in raw.items()}
        expected = request.cookies.get(SIGNIN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
            return PlainTextResponse(say("errors", "csrf"), status_code=403, headers=_SECURITY_HEADERS)
        username = form.get("username", "").strip()
        address = request.client.host if request.client else "?"
        outcome = await run_in_threadpool(self._sign_in, username, form.get("password", ""), address)
        if isinstance(outcome, AccountError):
            until = outcome.details.get("until")
            message = say(
                "errors", outcome.code, max=self.rules.max_failures, until=data.local(until, self.tz) if until else ""
            )
            status = 401 if outcome.code == "bad_credentials" else 429
            return await self.signin_page(request, message, status=status, username=username)
        response = RedirectResponse(_local_path(form.get("next", "/")), status_code=303)
        response.set_cookie(
            COOKIE,
            outcome.token,
            httponly=True,
            samesite="lax",
            secure=self.rules.https,
            path="/",
            max_age=self.rules.session_hours * 3600,
        )
        response.delete_cookie(SIGNIN_COOKIE, path="/signin")
        return response

    def _sign_in(self, username: str, password: str, address: str) -> accounts.SignedIn | AccountError:
        """The attempt is recorded (and committed) whether it succeeds or not."""
        with self.sessions() as db:
            try:
                signed = accounts.sign_in(db, username, password, address, now=self.clock(), rules=self.rules)
            except AccountError as exc:
                db.commit()
                return exc
            db.commit()
            return signed

    def signout(self, ctx: Ctx) -> Response:
        accounts.sign_out(ctx.db, self._cookie_token(ctx.request), now=ctx.now)
        ctx.db.commit()
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- pages ------------------------------------------------------------------------------------------------

    def _sweep(self, ctx: Ctx) -> None:
        if approval.expire_overdue(ctx.db, ctx.now):
            ctx.db.commit()

    def dashboard(self, ctx: Ctx) -> Response:
        self._sweep(ctx)
        board = data.dashboard(ctx.db, self.catalog, ctx.now, self.tz)
        notices = approval.notices(ctx.db, ctx.user.username)
        return self.render("dashboard", ctx.request, ctx=ctx, board=board, notices=notices)

    def read_notices(self, ctx: Ctx) -> Response:
        for notice in approval.notices(ctx.db, ctx.user.username, limit=1000):
            notice.read_at = ctx.now
        ctx.db.commit()
        return RedirectResponse("/", status_code=303)

    def post_list(self, ctx: Ctx) -> Response:
        self._sweep(ctx)
        status = ctx.request.query_params.get("status", "")
        kind = ctx.request.query_params.get("audience", "")
        mine = ctx.request.query_params.get("mine", "") == "1"
        query = select(Post).order_by(Post.id.desc()).limit(200)
        if status in POST_STATES:
            query = query.where(Post.status == status)
        if kind in ("all", "therapy", "scene", "tag", "test"):
            query = query.where(Post.audience == "all" if kind == "all" else Post.audience.startswith(f"{kind}:"))
        if mine:
            query = query.where(Post.created_by == ctx.user.username)
        posts = list(ctx.db.scalars(query))
        filters = {"status": status, "audience": kind, "mine": mine}
        return self.render("posts", ctx.request, ctx=ctx, posts=posts, filters=filters, states=POST_STATES)

    def calendar_page(self, ctx: Ctx) -> Response:
        view = "month" if ctx.request.query_params.get("view") == "month" else "week"
        try:
            anchor = date.fromisoformat(ctx.request.query_params.get("start", ""))
        except ValueError:
            anchor = ctx.now.astimezone(ZoneInfo(self.tz)).date()
        cal = data.calendar(ctx.db, view, anchor, ctx.now, self.settings.scheduler)
        return self.render("calendar", ctx.request, ctx=ctx, cal=cal, scheduling=self.settings.scheduler)

    def _compose_values(self, ctx: Ctx) -> dict[str, Any]:
        therapies = [
            (t.key, t.name, data.audience_count(ctx.db, self.catalog, f"therapy:{t.key}"))
            for t in self.catalog.therapies.values()
        ]
        scenes = [
            (s.key, s.purpose or s.key, data.audience_count(ctx.db, self.catalog, f"scene:{s.key}"))
            for s in self.catalog.scenes.values()
        ]
        return {
            "contents": data.content_options(self.catalog),
            "therapies": therapies,
            "scenes": scenes,
            "everyone": data.audience_count(ctx.db, self.catalog, "all"),
            "channels": list(table()["channels"]),
            "purposes": sorted(self.settings.wechat.templates),
        }

    def compose_page(self, ctx: Ctx) -> Response:
        if not approval.can(ctx.user.role, "compose"):
            return self.refuse(ctx, "forbidden")
        values = forms.blank(ctx.now, self.tz)
        wanted = ctx.request.query_params.get("content", "")
        if wanted:
            values["content"] = wanted
        return self.render("compose", ctx.request, ctx=ctx, values=values, errors={}, post=None,
                           **self._compose_values(ctx))  # fmt: skip

    def compose(self, ctx: Ctx) -> Response:
        if not approval.can(ctx.user.role, "compose"):
            return self.refuse(ctx, "forbidden")
        checked = forms.check(ctx.form, self.catalog, ctx.now, self.tz, self.settings.wechat.templates)
        if not checked.ok:
            return self.render("compose", ctx.request, status=400, ctx=ctx, values=checked.values,
                               errors=checked.errors, post=None, **self._compose_values(ctx))  # fmt: skip
        assert checked.send_at is not None
        post = approval.compose(
            ctx.db,
            ctx.user,
            content=checked.content,
            audience=checked.audience,
            channel=checked.values["channel"],
            send_at=checked.send_at,
            now=ctx.now,
            scheduling=self.settings.scheduler,
            text=checked.values["text"],
            title=checked.values["title"],
            purpose=checked.values["purpose"],
        )
        done = "draft"
        if ctx.form.get("then") == "submit":
            approval.submit(ctx.db, post, ctx.user, ctx.now)
            done = "submitted"
        ctx.db.commit()
        return RedirectResponse(f"/posts/{post.id}?done={done}", status_code=303)

    def audience_count(self, ctx: Ctx) -> Response:
        picked = ctx.request.query_params.get("audience", "")
        value = ctx.request.query_params.get("audience_value", "")
        count = data.audience_count(ctx.db, self.catalog, forms.audience_of(picked, value)) if picked else None
        return self.render("audience_count", ctx.request, ctx=ctx, count=count)

    def _post(self, ctx: Ctx) -> Post | None:
        return ctx.db.get(Post, int(ctx.request.path_params["post_id"]))

    def post_page(self, ctx: Ctx) -> Response:
        post = self._post(ctx)
        if post is None:
            return self.refuse(ctx, "not_found", 404)
        events = list(ctx.db.scalars(select(PostEvent).where(PostEvent.post_id == post.id).order_by(PostEvent.id)))
        trail = accounts.audit_log(ctx.db, f"post:{post.id}")
        return self.render(
            "post",
            ctx.request,
            ctx=ctx,
            post=post,
            events=events,
            trail=list(reversed(trail)),
            moves=approval.moves(post, ctx.user),
            may_approve=approval.may_approve(post, ctx.user),
            own=post.created_by == ctx.user.username,
        )

    def _values_of(self, post: Post) -> dict[str, str]:
        kind, _, value = post.audience.partition(":")
        picked, typed = (kind, value) if kind in forms.TYPED else (post.audience, "")
        send_at = post.send_at.astimezone(ZoneInfo(self.tz)) if post.send_at else None
        return {
            "content": post.content,
            "text": post.text,
            "title": str((post.data or {}).get("title", "")),
            "audience": picked,
            "audience_value": typed,
            "send_at": f"{send_at:%Y-%m-%dT%H:%M}" if send_at else "",
            "channel": post.channel,
            "purpose": str((post.data or {}).get("purpose", "")),
        }

    def edit_page(self, ctx: Ctx) -> Response:
        post = self._post(ctx)
        if post is None:
            return self.refuse(ctx, "not_found", 404)
        if not approval.moves(post, ctx.user).edit:
            return self.refuse(ctx, "forbidden" if not approval.can(ctx.user.role, "compose") else "wrong_state")
        return self.render("compose", ctx.request, ctx=ctx, values=self._values_of(post), errors={}, post=post,
                           **self._compose_values(ctx))  # fmt: skip

    def edit(self, ctx: Ctx) -> Response:
        post = self._post(ctx)
        if post is None:
            return self.refuse(ctx, "not_found", 404)
        if not approval.moves(post, ctx.user).edit:
            return self.refuse(ctx, "forbidden" if not approval.can(ctx.user.role, "compose") else "wrong_state")
        checked = forms.check(ctx.form, self.catalog, ctx.now, self.tz, self.settings.wechat.templates)
        if not checked.ok:
            return self.render("compose", ctx.request, status=400, ctx=ctx, values=checked.values,
                               errors=checked.errors, post=post, **self._compose_values(ctx))  # fmt: skip
        assert checked.send_at is not None
        was = post.status
        approval.edit(
            ctx.db,
            post,
            ctx.user,
            now=ctx.now,
            scheduling=self.settings.scheduler,
            content=checked.content,
            audience=checked.audience,
            channel=checked.values["channel"],
            send_at=checked.send_at,
            text=checked.values["text"],
            title=checked.values["title"],
            purpose=checked.values["purpose"],
        )
        ctx.db.commit()
        done = "edited_review" if was in ("in_review", "approved") else "edited"
        return RedirectResponse(f"/posts/{post.id}?done={done}", status_code=303)

    def act(self, ctx: Ctx) -> Response:
        post = self._post(ctx)
        if post is None:
            return self.refuse(ctx, "not_found", 404)
        action = ctx.request.path_params["action"]
        comment = ctx.form.get("comment", "").strip()
        count = 0
        try:
            if action == "submit":
                approval.submit(ctx.db, post, ctx.user, ctx.now)
                done = "submitted"
            elif action == "approve":
                approval.approve(ctx.db, post, ctx.user, ctx.now, comment)
                done = "approved"
            elif action == "return":
                approval.send_back(ctx.db, post, ctx.user, ctx.now, comment)
                done = "returned"
            elif action == "queue":
                approval.queue(ctx.db, post, ctx.user, ctx.now, self.settings.scheduler)
                done = "queued"
            elif action == "cancel":
                approval.cancel(ctx.db, post, ctx.user, ctx.now)
                done = "cancelled"
            elif action == "retry":
                count = approval.retry(ctx.db, post, ctx.user, ctx.now)
                done = "retry"
            else:
                return self.refuse(ctx, "not_found", 404)
        except ApprovalError as exc:
            ctx.db.rollback()
            return self.refuse(ctx, exc.code, 403 if exc.code in ("forbidden", "own_post", "own_post_all") else 409)
        ctx.db.commit()
        return RedirectResponse(f"/posts/{post.id}?done={done}&count={count}", status_code=303)

    def preview_page(self, ctx: Ctx) -> Response:
        post = self._post(ctx)
        if post is None:
            return self.refuse(ctx, "not_found", 404)
        shown = self.planner(ctx.db, post, ctx.now) if self.planner else failed("unavailable")
        ctx.db.rollback()  # a dry run: nothing it touched is kept
        return self.render("preview", ctx.request, ctx=ctx, post=post, preview=shown,
                           **sendtome_pages.preview_values(ctx, post))  # fmt: skip

    def report_page(self, ctx: Ctx) -> Response:
        post = self._post(ctx)
        if post is None:
            return self.refuse(ctx, "not_found", 404)
        rep = data.report(ctx.db, post.id, self.tz)
        chart = json.dumps(rep.timeline, ensure_ascii=False)
        return self.render("report", ctx.request, ctx=ctx, post=post, rep=rep, chart=chart,
                           moves=approval.moves(post, ctx.user))  # fmt: skip

    # -- admin ------------------------------------------------------------------------------------------------

    def users_page(self, ctx: Ctx) -> Response:
        if not approval.can(ctx.user.role, "users"):
            return self.refuse(ctx, "not_allowed_page")
        return self.render("users", ctx.request, ctx=ctx, users=accounts.list_users(ctx.db), roles=ROLES)

    def disable_user(self, ctx: Ctx) -> Response:
        if not approval.can(ctx.user.role, "users"):
            return self.refuse(ctx, "not_allowed_page")
        try:
            accounts.disable_user(ctx.db, ctx.request.path_params["username"], by=ctx.user.username, now=ctx.now)
        except AccountError:
            ctx.db.rollback()
            return self.refuse(ctx, "not_found", 404)
        ctx.db.commit()
        return RedirectResponse("/users", status_code=303)

    def settings_page(self, ctx: Ctx) -> Response:
        if not approval.can(ctx.user.role, "users"):
            return self.refuse(ctx, "not_allowed_page")
        shown = []
        for tbl, keys in setting_keys().items():
            for key in keys:
                value = getattr(getattr(self.settings, tbl), key)
                if (tbl, key) in SECRET_KEYS:
                    value = "••••••" if value else ""
                elif tbl == "database" and key == "url":
                    value = _without_password(str(value))
                elif isinstance(value, dict):
                    value = ", ".join(sorted(value)) or "—"
                shown.append((f"{tbl}.{key}", value))
        return self.render("settings", ctx.request, ctx=ctx, shown=shown, source=self.settings.source)

    def audit_page(self, ctx: Ctx) -> Response:
        if not approval.can(ctx.user.role, "users"):
            return self.refuse(ctx, "not_allowed_page")
        return self.render("audit", ctx.request, ctx=ctx, entries=accounts.audit_log(ctx.db, limit=300))


_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
}


def _local_path(target: str) -> str:
    """Only a path of this site: a sign-in never sends anyone elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":••••••@")
    return url


def create_app(
    settings: Settings,
    sessions: sessionmaker[Session],
    catalog: Catalog,
    clock: Clock,
    planner: Planner | None = None,
) -> Console:
    return Console(settings, sessions, catalog, clock, planner)
