"""`wxbot post`: the operator queue — add, list, show (delivery report), preview (dry run), cancel, retry, send-now."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from posts import ledger, posting
from posts import preview as dry_run
from posts.audience import AudienceError, parse_audience
from posts.compose import ContentError, check_content
from posts.posting import PostError
from posts.queue import Post, PostEvent
from posts.render import environment
from posts.template_fields import TemplateFieldError
from posts.timing import TimingError, parse_local
from scheduler.preview import Preview
from scheduler.quota import account
from scheduler.recurrence import CronError, next_fire
from scheduler.runner import LEASE_NAME, Engine
from wxbot import runtime
from wxbot.commands import post_checks
from wxbot.context import app_context, console, fail

app = typer.Typer(help="The push queue: add, list, show, preview, cancel, retry, send-now.", no_args_is_help=True)

OPERATOR_ERRORS = (PostError, AudienceError, ContentError, TimingError, CronError, TemplateFieldError)
BLOCKING_CODES = {"quota", "mass_day"}


@contextlib.contextmanager
def _runtime(ctx: typer.Context) -> Iterator[runtime.Runtime]:
    rt = runtime.attach(app_context(ctx).settings, clock=app_context(ctx).clock)  # the content running processes serve
    try:
        yield rt
    except OPERATOR_ERRORS as exc:
        raise fail(str(exc)) from None
    finally:
        rt.close()


def _local(value: datetime | None, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if value else "—"


@app.command()
def add(
    ctx: typer.Context,
    content: Annotated[str, typer.Option(help="section:<key>, update:<therapy>/<key>, digest or text.")],
    audience: Annotated[str, typer.Option(help="all, therapy:<key>, scene:<key>, tag:<id> or test:<openid,...>.")] = (
        "all"
    ),
    at: Annotated[str | None, typer.Option("--at", help="Send time, e.g. '2026-12-01 09:00' (scheduler timezone).")] = (
        None
    ),
    cron: Annotated[str | None, typer.Option(help="Recurring: crontab 'min hour day month weekday'.")] = None,
    channel: Annotated[str, typer.Option(help="auto, custom_only, template_only or mass.")] = "auto",
    to: Annotated[str | None, typer.Option("--to", help="Test list: openid,openid (overrides --audience).")] = None,
    text: Annotated[str, typer.Option(help="The words of a text post.")] = "",
    title: Annotated[str, typer.Option(help="Title of a text post.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who queues it (audit trail).")] = "operator",
    draft: Annotated[bool, typer.Option(help="Keep it as a draft (send-now queues it).")] = False,
    purpose: Annotated[
        str, typer.Option(help="template_only: the configured template purpose (wechat.templates.<purpose>).")
    ] = "",
    now_: Annotated[bool, typer.Option("--now", help="Send as soon as it is queued (instead of --at/--cron).")] = False,
    as_article: Annotated[
        bool, typer.Option("--as-article", help="Mass-send a section or update as a WeChat article (mpnews).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm in advance (scripts): no question asked.")] = False,
) -> None:
    """Queue a post. Errors (unknown content or therapy, past time, empty audience, over quota) exit 2.

    A post to everyone, or one due now, asks for confirmation (audience size, channels, month quota) unless --yes.
    """
    settings = app_context(ctx).settings
    tz = settings.scheduler.timezone
    if now_ and (at or cron):
        raise fail("--now sends at once: give it without --at or --cron")
    if not (now_ or at or cron or draft):
        raise fail("say when: --at 'YYYY-MM-DD HH:MM', --cron '...', or --now to send at once")
    with _runtime(ctx) as rt:
        ref = check_content(content, rt.catalog, text)
        target = parse_audience(f"test:{to}" if to else audience, rt.catalog.therapies, rt.catalog.scenes)
        now = rt.clock()
        send_at = parse_local(at, tz) if at else None
        first = next_fire(cron, tz, now) if cron else None
        with rt.sessions() as session:
            post = posting.add_post(
                session,
                content=ref,
                audience=str(target),
                channel=channel,
                by=by,
                now=now,
                scheduling=settings.scheduler,
                send_at=send_at,
                cron=cron,
                next_run_at=first,
                text=text,
                title=title,
                draft=draft,
                purpose=purpose,
                as_article=as_article,
            )
            if not cron:
                preview = Preview(settings, rt.catalog, rt.renderer)
                plan, message = preview.plan(session, post, now)
                if channel == "template_only" and message is not None:
                    preview.template_fields(post, message, now)
                if not plan.assignments and plan.skipped:
                    raise PostError(f"everyone in {target} already received {ref} ({len(plan.skipped)} skipped)")
                if not plan.assignments:
                    raise PostError(f"the audience {target} is empty: nobody would receive this post")
                post_checks.refuse_spent_month(plan, now)
                post_checks.refuse_what_the_account_cannot(plan)
                blocked = [a for a in plan.assignments if a.code in BLOCKING_CODES]
                if blocked:
                    raise PostError(
                        f"over quota: {len(blocked)} of {len(plan.assignments)} recipients — {blocked[0].reason}"
                    )
            when = f"every {cron!r}, first {_local(first, tz)}" if cron else f"at {_local(post.due_at, tz)}"
            due_now = post.due_at is not None and post.due_at <= now
            if not draft and (target.kind == "all" or due_now):
                plan, _ = Preview(settings, rt.catalog, rt.renderer).plan(session, post, now)
                said = post_checks.statement(
                    session, plan, str(target), "now" if due_now else when, settings.wechat.account_type, now
                )
                post_checks.confirm(said, yes)
            session.commit()
            console.print(f"post {post.id} {post.status}: {ref} → {target} via {channel}, {when} ({tz})")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only posts in this state.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """The queue, newest first."""
    settings = app_context(ctx).settings
    sessions = app_context(ctx).database()
    table = Table("id", "status", "content", "audience", "channel", "when", "by", "sent/total")
    with sessions() as session:
        for post in posting.list_posts(session, limit, status):
            rep = ledger.report(session, post.id)
            when = f"cron {post.cron}" if post.cron else _local(post.due_at, settings.scheduler.timezone)
            table.add_row(
                str(post.id),
                post.status,
                post.content,
                post.audience,
                post.channel,
                when,
                post.created_by,
                f"{rep.states.get('sent', 0)}/{rep.total}",
            )
    console.print(table)


@app.command()
def show(ctx: typer.Context, post_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """One post: what, to whom, when, its audit trail and its delivery report."""
    settings = app_context(ctx).settings
    tz = settings.scheduler.timezone
    sessions = app_context(ctx).database()
    with sessions() as session:
        post = session.get(Post, post_id)
        if post is None:
            raise fail(f"no post {post_id}")
        console.print(
            f"[bold]post {post.id}[/bold] {post.status} — {post.content} → {post.audience} via {post.channel}"
        )
        console.print(
            f"asked for {_local(post.send_at, tz)}, due {_local(post.due_at, tz)} ({tz})"
            + (f", cron {post.cron!r}, next {_local(post.next_run_at, tz)}" if post.cron else "")
        )
        for event in session.scalars(select(PostEvent).where(PostEvent.post_id == post_id).order_by(PostEvent.id)):
            console.print(f"  {_local(event.at, tz)}  {event.actor:<10} {event.action:<11} {event.detail}")
        rep = ledger.report(session, post_id)
    if not rep.total:
        return
    table = Table("channel", "state", "count", title=f"delivery report ({rep.total} recipients)")
    for (channel, state), count in sorted(rep.channels.items()):
        table.add_row(channel, state, str(count))
    console.print(table)
    if rep.confirmed:
        console.print(f"confirmed by WeChat's job-finished events: {rep.confirmed}")
    for batch in rep.batches:
        console.print(_batch_line(batch), markup=False, highlight=False)
    if rep.received or rep.unconfirmed:
        said = ", ".join(f"{channel} {count}" for channel, count in sorted(rep.received.items())) or "none yet"
        line = f"received, as WeChat says: {said}"
        waiting = ", ".join(f"{channel} {count}" for channel, count in sorted(rep.unconfirmed.items()) if count)
        console.print(line + (f" (not yet confirmed by a job-finished event: {waiting})" if waiting else ""))
    for reason, count in rep.reasons.most_common():
        console.print(f"  {count} × {reason}")
    if rep.states.get("unknown"):
        console.print(_unknown_hint(post_id, rep.states["unknown"]))


@app.command()
def preview(ctx: typer.Context, post_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Dry run, in the console preview's words: the exact text, who gets it by which channel, who cannot be reached
    and why, the quota it uses. Nothing is sent."""
    settings = app_context(ctx).settings
    with _runtime(ctx) as rt, rt.sessions() as session:
        post = posting.get_post(session, post_id)
        now = rt.clock()
        planning = Preview(settings, rt.catalog, rt.renderer)
        plan, message = planning.plan(session, post, now)
        left = account(session, settings, now).remaining
        fields = planning.template_fields(post, message, now) if message and post.channel == "template_only" else None
        shown = dry_run.summarize(
            plan,
            message,
            disclaimer_text=rt.renderer.disclaimer_text,
            disclaimer_short=rt.renderer.disclaimer_short,
            template_fields=fields,
            left_today=left,
        )
        text = (
            environment()
            .get_template("text/operator/post_preview.txt.j2")
            .render(
                post=post,
                shown=shown,
                purpose=(post.data or {}).get("purpose", ""),
                notice=plan.notice,
                notes=plan.notes,
                slices=[(piece.key, len(piece.openids)) for piece in plan.slices],
                say=dry_run.say,
            )
        )
    console.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)


@app.command()
def cancel(
    ctx: typer.Context, post_id: Annotated[int, typer.Argument(metavar="ID")], by: str = typer.Option("operator")
) -> None:
    """Cancel a draft, queued or recurring post (deliveries already made stay made)."""
    sessions = app_context(ctx).database()
    with sessions() as session:
        try:
            posting.cancel(session, post_id, by, app_context(ctx).clock())
        except PostError as exc:
            raise fail(str(exc)) from None
        session.commit()
    console.print(f"post {post_id} cancelled")


@app.command()
def retry(
    ctx: typer.Context,
    post_id: Annotated[int, typer.Argument(metavar="ID")],
    by: str = typer.Option("operator"),
    resend_unknown: Annotated[
        bool,
        typer.Option(
            "--resend-unknown", help="Also resend deliveries whose outcome is unknown (they may arrive twice)."
        ),
    ] = False,
) -> None:
    """Requeue failed deliveries (or a missed post); the scheduler sends them on its next tick."""
    sessions = app_context(ctx).database()
    with sessions() as session:
        try:
            count = posting.retry(session, post_id, by, app_context(ctx).clock(), resend_unknown=resend_unknown)
        except PostError as exc:
            raise fail(str(exc)) from None
        left = posting.unknown_count(session, post_id)
        session.commit()
    console.print(f"post {post_id}: {count} deliveries requeued")
    if left:
        console.print(_unknown_hint(post_id, left))


def _batch_line(batch: ledger.BatchReport) -> str:
    """A mass batch: the API call's answer, then WeChat's job-finished counts (or that they have not come)."""
    line = f"mass batch {batch.key}: {batch.state}" + (f", msg_id {batch.msg_id}" if batch.msg_id else "")
    if batch.confirmed and batch.total is not None:
        line += (
            f"; WeChat: sent {batch.sent} of {batch.total}, filtered {batch.filtered} "
            f"(month limit or refused), errors {batch.errors}"
        )
    elif batch.state == "sent":
        line += "; unconfirmed: no job-finished event from WeChat yet"
    return line + (f" — {batch.reason}" if batch.reason else "")


def _unknown_hint(post_id: int, count: int) -> str:
    return (
        f"{count} deliveries have an unknown outcome (WeChat may have delivered them) and were not resent; "
        f"`wxbot post retry {post_id} --resend-unknown` resends them, and those followers may then get it twice"
    )


@app.command("send-now")
def send_now(
    ctx: typer.Context, post_id: Annotated[int, typer.Argument(metavar="ID")], by: str = typer.Option("operator")
) -> None:
    """Send a queued post now (past the quiet hours: the operator decided), with a progress bar."""
    settings = app_context(ctx).settings
    with _runtime(ctx) as rt:
        with rt.sessions() as session:
            posting.send_now(session, post_id, by, rt.clock())
            session.commit()
        engine = Engine(settings, rt.sessions, rt.catalog, rt.renderer, clock=rt.clock)
        try:
            if not engine.renew():
                holder = getattr(engine.leases, "holder", lambda _n: None)(LEASE_NAME)
                console.print(f"post {post_id} is due now; the running scheduler ({holder}) sends it within seconds")
                return
            engine.recover()
            columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=console, transient=False) as bar:
                task = bar.add_task("send", total=None)
                status = engine.sender.run(post_id, lambda done, total: bar.update(task, completed=done, total=total))
        finally:
            engine.release()
            engine.api.close()
    console.print(f"post {post_id}: {status} (`wxbot post show {post_id}` for the report)")
