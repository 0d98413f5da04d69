"""The console wired to the rest of the product: its dry-run planner is the scheduler's and its keyword check the
bot's routing (console/ may import neither scheduler/ nor bot/, so the composition root hands them over)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from console.app import Console, create_app
from posts import preview
from posts.audience import AudienceError
from posts.catalog import Catalog
from posts.clock import Clock
from posts.compose import ContentError
from posts.queue import Post
from posts.render import Renderer
from posts.settings import Settings
from posts.template_fields import TemplateFieldError
from scheduler.quota import account
from scheduler.sender import Sender


def planner(settings: Settings, sessions: sessionmaker[Session], catalog: Catalog, renderer: Renderer,
            clock: Clock) -> preview.Planner:  # fmt: skip
    """A dry run of a post on the scheduler's own planning (what `wxbot post preview` prints)."""
    sender = Sender(settings, sessions, None, catalog, renderer, clock=clock)

    def run(session: Session, post: Post, now: datetime) -> preview.Preview:
        try:
            plan, message = sender.plan(session, post, now)
            fields = None
            if message is not None and post.channel == "template_only":
                fields = sender.template_fields(post, message, now)
        except AudienceError:
            return preview.failed("audience")
        except ContentError:
            return preview.failed("content")
        except TemplateFieldError:
            return preview.failed("template")
        left = account(session, settings, now).remaining
        return preview.summarize(
            plan,
            message,
            disclaimer_text=renderer.disclaimer_text,
            disclaimer_short=renderer.disclaimer_short,
            template_fields=fields,
            left_today=left,
        )

    return run


def build(settings: Settings, sessions: sessionmaker[Session], catalog: Catalog, clock: Clock) -> Console:
    def planner_for(current: Catalog) -> preview.Planner:
        return planner(settings, sessions, current, Renderer(current, settings.server.base_url), clock)

    built = create_app(settings, sessions, catalog, clock, planner_for(catalog))
    built.planner_for = planner_for  # previews follow the content written in the console
    built.router = router
    return built


def router(catalog: Catalog) -> Callable[[str], str]:
    """Where a typed text goes on ``catalog``'s rules, as the bot routes it (bot.routes.TextRoutes.target): a
    keyword reply written in the console must be what its keywords reach."""
    from bot.routes import text_routes

    return text_routes(catalog).target
