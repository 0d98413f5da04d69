"""What a post would do, writing nothing: its message, its template fields, and who gets it by which channel.

`wxbot post add` checks a post with it, `wxbot post preview` prints it, and a send starts from the very same plan
(scheduler/sender.py), so the dry run and the send never differ.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from posts import ledger, mass_budget, received, template_fields
from posts.audience import AudienceError, mass_tag_id, parse_audience, recipients
from posts.catalog import Catalog
from posts.compose import Message, Renderer, compose
from posts.notice_fields import NoticeFieldError
from posts.preview import say
from posts.queue import Post
from posts.settings import Settings
from posts.template_fields import TemplateFieldError
from scheduler import notice_channel, planner, quota, tags
from scheduler.wechat_api import WeChatApi


class Preview:
    """The plan of a post at a given time; ``api`` only to list a tag audience's members (None: refused)."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        renderer: Renderer,
        api: WeChatApi | None = None,
        daily_limits: dict[str, int] | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.renderer = renderer
        self.api = api
        self.daily_limits = daily_limits

    def message_for(self, post: Post) -> Message | None:
        """The one rendered message of the post (None: a digest with nothing new)."""
        data = post.data or {}
        return compose(
            post.content,
            self.catalog,
            self.renderer,
            text=post.text,
            since=_date(data.get("since")),
            until=_date(data.get("until")),
            title=data.get("title", ""),
        )

    def tag_members(self, tag_id: int) -> list[str]:
        if self.api is None:
            raise AudienceError(f"tag {tag_id} mirrors no therapy; only WeChat knows its members")
        return sorted(tags.members(self.api, tag_id))

    def template_fields(self, post: Post, message: Message, now: datetime) -> dict[str, str]:
        """The exact template fields a template_only post sends (its purpose's mapping), or TemplateFieldError.

        Only text posts given a configured purpose: templates are for service notices, never for news content.
        """
        purpose = (post.data or {}).get("purpose") or ""
        if not post.content.startswith("text"):
            raise TemplateFieldError(
                f"template messages are for service notices, not news: {post.content} goes by auto or mass"
            )
        spec = self.settings.wechat.templates.get(purpose)
        if not spec:
            known = ", ".join(sorted(self.settings.wechat.templates)) or "none configured"
            raise TemplateFieldError(
                f"no template for purpose {purpose!r} (wechat.templates.<purpose> in the config; known: {known}); "
                "give --purpose"
            )
        return template_fields.fill(
            spec,
            title=message.title,
            summary=message.summary,
            text=post.text,
            due=post.due_at or now,
            tz=self.settings.scheduler.timezone,
        )

    def plan(self, session: Session, post: Post, now: datetime) -> tuple[planner.Plan, Message | None]:
        """The plan for ``post`` at ``now``: recipients, already-received skips, windows, month budget, quotas."""
        message = self.message_for(post)
        audience = parse_audience(post.audience, self.catalog.therapies)
        people = recipients(session, audience, self.tag_members)
        skipped = received.already(session, post.content, (r.openid for r in people))
        people = [r for r in people if r.openid not in skipped]
        purpose = (post.data or {}).get("purpose")
        account = quota.account(session, self.settings, now, self.daily_limits, purpose)
        opened = {r.openid: planner.window(r, now).opened_at for r in people}
        in_window = {openid: at for openid, at in opened.items() if at is not None}
        used = ledger.window_used(session, in_window)
        month = mass_budget.received_this_month(session, now) if post.channel in ("mass", "auto") else {}
        tag = mass_tag_id(session, audience)
        target = planner.MassTarget(to_all=True) if audience.kind == "all" else None
        if tag is not None:
            target = planner.MassTarget(tag_id=tag)
        notice, notes, consents = None, [], set()
        if post.channel == "auto" and message is not None:
            try:
                notice = notice_channel.for_post(self.settings, self.catalog, post, message, now)
            except NoticeFieldError as exc:
                notes.append(say("notes", "notice_field", field=exc.field))
            consents = notice_channel.consented(session, notice, (r.openid for r in people))
            if notice is not None:
                account = replace(account, notice_template_id=notice.template_id)
        result = planner.plan(
            people,
            post.channel,
            account,
            now,
            window_used=used,
            mass_month=month,
            mass_target=target,
            notice_consents=consents,
        )
        result.skipped = sorted(skipped)
        result.notice = asdict(notice) if notice is not None and result.counts().get("notice") else None
        result.notes = notes
        return result, message


def _date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value
