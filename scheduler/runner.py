"""The scheduler: APScheduler is the clock, the database the truth; one active process holds the lease.

The tick is short: it claims due work and starts each post's send as a job of its own (``send:<post id>``, one
at a time in the ``sends`` executor), so a long send never blocks the tick nor makes APScheduler skip it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts import alerts, ledger, notices, retention, rollup
from posts.catalog import Catalog
from posts.clock import Clock, system_clock
from posts.compose import Renderer
from posts.live import Content, Current, LiveContent, content_builder
from posts.loader import default_content_dir
from posts.queue import Post
from posts.settings import Settings
from posts.timing import hold_for_quiet_hours
from scheduler import quota, sendtome
from scheduler.lease import Leases, leases_for, new_holder
from scheduler.outbox import send_outbox
from scheduler.publish import Publisher, content_images
from scheduler.recurrence import next_fire, trigger
from scheduler.sender import TEMPLATE_RESEND_WINDOW, Sender
from scheduler.wechat_api import WeChatApi, make_api

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE_SECONDS = 30.0
TICK_SECONDS = 2.0
HOUSEKEEPING_EVERY = timedelta(hours=1)
ROLLUP_MINUTE = 20
"""The analytics rollup runs at this minute of every hour (the first run after midnight closes the day)."""
SEND_EXECUTOR = "sends"
"""APScheduler executor of the `send:<id>` jobs: one thread, so sends go out one after another."""


class Engine:
    """The work of one tick, callable without APScheduler (tests pass ``clock``)."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        renderer: Renderer,
        *,
        api: WeChatApi | None = None,
        leases: Leases | None = None,
        clock: Clock = system_clock,
        holder: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        content: LiveContent[Content] | None = None,
        **sender_options: Any,
    ) -> None:
        """With ``content``, every tick first picks up a content reload (``catalog``/``renderer`` are then unused)."""
        self.content = content
        if content is not None:
            catalog, renderer = Current(content, "catalog"), Current(content, "renderer")  # type: ignore[assignment]
        self.settings = settings
        self.sessions = sessions
        self.catalog = catalog
        self.api = api or make_api(settings, sessions, clock)
        self.leases = leases or leases_for(settings.redis.url, sessions, clock)
        self.clock = clock
        self.holder = holder or new_holder()
        self.lease_seconds = lease_seconds
        self.stop_event = threading.Event()
        self.daily_limits = sender_options.get("daily_limits")
        sender_options.setdefault("sleep", self.stop_event.wait)  # a stop ends a wait for a retry at once
        self.sender = Sender(
            settings, sessions, self.api, catalog, renderer, clock=clock, keepalive=self.keepalive, **sender_options
        )
        self.launch: Callable[[int], None] = self.send
        """How a post's send is started: here, at once in the caller's thread; Handle makes it a job of its own."""
        self._sends: set[int] = set()
        self._sends_lock = threading.Lock()
        self.publisher = Publisher(
            sessions,
            self.api,
            renderer,
            clock=clock,
            read_image=content_images(default_content_dir(settings.content.path)),
        )
        self._lock = threading.Lock()
        self._held_until = 0.0
        self._recovered = False
        self._housekeeping_due: datetime | None = None
        self._reviews_checked: date | None = None
        self.on_jobs_changed: Callable[[], None] | None = None

    # -- the lease ------------------------------------------------------------------------------------
    def renew(self) -> bool:
        ok = self.leases.acquire(LEASE_NAME, self.holder, self.lease_seconds, self.clock())
        self._held_until = time.monotonic() + self.lease_seconds if ok else 0.0
        return ok

    def keepalive(self) -> bool:
        """Renew the lease when a third of it has passed; False when it is lost or we are stopping."""
        if self.stop_event.is_set():
            return False
        if self._held_until - time.monotonic() < self.lease_seconds * 2 / 3:
            return self.renew()
        return True

    @property
    def active(self) -> bool:
        return self._held_until > time.monotonic()

    def release(self) -> None:
        self.leases.release(LEASE_NAME, self.holder)
        self._held_until = 0.0

    # -- one tick -------------------------------------------------------------------------------------
    def tick(self) -> bool:
        """Outbox, recurring posts, due posts (misfire policy), retries, reconciliation. False on standby."""
        if not self._lock.acquire(blocking=False):
            return True
        try:
            if self.stop_event.is_set() or not self.renew():
                return False
            if self.content is not None:
                self.content.refresh()  # the content every post is checked against at `post add`
            if not self._recovered:
                self.recover()
            self.outbox()
            self.publisher.run()
            self.spawn_recurring()
            for post_id in [*self.due(), *self.sending()]:
                if not self.keepalive():
                    break
                self.start_send(post_id)
            with self.sessions() as session:
                ledger.reconcile(session, self.clock() - timedelta(days=1))
                notices.reconcile(session, self.clock() - timedelta(days=1))
                quota.add_usage(session, self.api.take_usage(), self.clock())
                session.commit()
            self.housekeeping()
            return True
        finally:
            self._lock.release()

    # -- sends --------------------------------------------------------------------------------------
    def start_send(self, post_id: int) -> bool:
        """Start the post's send unless it is already running (in this process); False when it was."""
        with self._sends_lock:
            if post_id in self._sends:
                return False
            self._sends.add(post_id)
        try:
            self.launch(post_id)
        except Exception:
            self._forget(post_id)
            raise
        return True

    def send(self, post_id: int) -> str:
        """One post's send, to its end (or a stop, or the retry wait): the body of a `send:<id>` job."""
        try:
            return self.sender.run(post_id, stop=self.stop_event)
        finally:
            self._forget(post_id)

    def _forget(self, post_id: int) -> None:
        with self._sends_lock:
            self._sends.discard(post_id)

    @property
    def running_sends(self) -> set[int]:
        with self._sends_lock:
            return set(self._sends)

    def housekeeping(self) -> int:
        """Once an hour: forget the bot's dedupe rows older than ``scheduler.dedupe_keep_hours``; how many."""
        now = self.clock()
        if self._housekeeping_due is not None and now < self._housekeeping_due:
            return 0
        self._housekeeping_due = now + HOUSEKEEPING_EVERY
        before = now - timedelta(hours=self.settings.scheduler.dedupe_keep_hours)
        forgotten = retention.forget_seen(self.sessions, before, keep_going=self.keepalive)
        if forgotten:
            log.info("forgot %d dedupe rows received before %s", forgotten, before.isoformat())
        old_jobs = now - timedelta(days=retention.JOB_EVENTS_KEEP_DAYS)
        jobs = retention.forget_job_events(self.sessions, old_jobs, keep_going=self.keepalive)
        if jobs:
            log.info("forgot %d job-finished events received before %s", jobs, old_jobs.isoformat())
        return forgotten

    def review_check(self) -> alerts.Raised | None:
        """Once a local day: an operator alert when content items are past their next_review date.

        Its own APScheduler job (Handle.start: at ``scheduler.review_check_time`` and at start-up), never the tick;
        a second call the same day does nothing, and the alert table keeps one row per day across processes."""
        now = self.clock()
        day = now.astimezone(ZoneInfo(self.settings.scheduler.timezone)).date()
        if self._reviews_checked == day:
            return None
        with self.sessions() as session:
            raised = alerts.check_reviews(session, self.catalog, day, now)
            session.commit()
        self._reviews_checked = day
        if raised.new and raised.alert is not None:
            log.warning("operator alert (%s): %s", raised.alert.kind, raised.alert.message)
        return raised

    def analytics_rollup(self) -> rollup.Rolled | None:
        """Summarise the analytics' closed days (posts/rollup.py): its own hourly APScheduler job, only while this
        process holds the lease; idempotent, so a second run (or ``wxbot stats --rollup``) adds nothing twice."""
        if not self.active:
            return None
        done = rollup.run(self.sessions, self.clock(), self.settings.scheduler.timezone)
        if done.inbound or done.page_views or done.posts:
            log.info("analytics rollup: %d log rows, %d views, %d posts", done.inbound, done.page_views, done.posts)
        return done

    def outbox(self) -> int:
        """The outbox rows, then the operators' bind QR codes and test sends (scheduler/sendtome.py)."""
        if not self.active:
            return 0
        handled = send_outbox(self.sessions, self.api, self.catalog, self.clock)
        return handled + sendtome.run(self.sessions, self.api, self.sender.preview, self.clock, self.daily_limits)

    def recover(self) -> None:
        """Rows a dead process left in "sending" (see posts.ledger.recover for the rule), each in its post's
        history and in the log."""
        with self.sessions() as session:
            found = ledger.recover(session, self.clock(), TEMPLATE_RESEND_WINDOW)
            session.commit()
        for line in found.lines():
            log.warning("recovered after a stop: %s", line)
        self._recovered = True

    def spawn_recurring(self) -> int:
        """Each recurring post whose firing has come makes one occurrence (a child post)."""
        now, tz = self.clock(), self.settings.scheduler.timezone
        made = 0
        with self.sessions() as session:
            parents = session.scalars(
                select(Post).where(Post.cron.is_not(None), Post.status == "queued", Post.next_run_at <= now)
            ).all()
            for parent in parents:
                fire = parent.next_run_at
                assert fire is not None
                data = dict(parent.data or {})
                child_data: dict[str, Any] = {"title": data.get("title", "")} if data.get("title") else {}
                if parent.content == "digest":
                    local_day = fire.astimezone(ZoneInfo(tz)).date()
                    since = data.get("last_until") or (parent.created_at.date() - timedelta(days=7)).isoformat()
                    child_data.update(since=since, until=local_day.isoformat())
                    data["last_until"] = local_day.isoformat()
                child = Post(
                    content=parent.content,
                    audience=parent.audience,
                    channel=parent.channel,
                    text=parent.text,
                    parent_id=parent.id,
                    send_at=fire,
                    due_at=hold_for_quiet_hours(fire, self.settings.scheduler),
                    created_by="scheduler",
                    status="queued",
                    data=child_data,
                    created_at=now,
                )
                session.add(child)
                session.flush()
                parent.data = data
                parent.next_run_at = next_fire(parent.cron or "", tz, max(now, fire))
                ledger.record(
                    session, parent, "scheduler", "occurrence", f"post {child.id} for {fire.isoformat()}", at=now
                )
                ledger.record(
                    session, child, "scheduler", "queued", f"occurrence of recurring post {parent.id}", at=now
                )
                made += 1
            session.commit()
        return made

    def due(self) -> list[int]:
        """Queued posts whose time has come; those later than the grace period are marked missed (not one whose
        send job is already started and waits for the one before it)."""
        now = self.clock()
        grace = timedelta(seconds=self.settings.scheduler.misfire_grace_seconds)
        ready = []
        started = self.running_sends
        with self.sessions() as session:
            posts = session.scalars(
                select(Post)
                .where(Post.status == "queued", Post.cron.is_(None), Post.due_at <= now)
                .order_by(Post.due_at, Post.id)
            ).all()
            for post in posts:
                if post.id in started:
                    continue
                late = now - post.due_at  # type: ignore[operator]
                if late > grace:
                    post.status, post.finished_at = "missed", now
                    ledger.record(
                        session,
                        post,
                        "scheduler",
                        "missed",
                        f"due {post.due_at.isoformat()}, {int(late.total_seconds())} s late "  # type: ignore[union-attr]
                        f"(grace {int(grace.total_seconds())} s): not sent; `wxbot post retry {post.id}` sends it",
                        at=now,
                    )
                    log.warning("post %s missed its time by %s; marked missed", post.id, late)
                else:
                    ready.append(post.id)
            session.commit()
        return ready

    def sending(self) -> list[int]:
        """Posts still sending with work to do now (rows whose retry time has come, or nothing left to close)."""
        now = self.clock()
        with self.sessions() as session:
            ids = session.scalars(select(Post.id).where(Post.status == "sending").order_by(Post.id)).all()
            return [i for i in ids if i not in self.running_sends and ledger.has_work(session, i, now)]

    def jobs(self) -> dict[str, tuple[str, Any]]:
        """The APScheduler jobs the queue implies: `post:<id>` → (kind, run date or cron)."""
        with self.sessions() as session:
            rows = session.execute(select(Post.id, Post.due_at, Post.cron).where(Post.status == "queued")).all()
        return {f"post:{i}": ("cron", cron) if cron else ("date", due) for i, due, cron in rows}


class Handle:
    """A running scheduler: ``stop()`` finishes the current call, releases the lease and shuts down."""

    def __init__(self, engine: Engine, scheduler: BackgroundScheduler) -> None:
        self.engine = engine
        self.scheduler = scheduler
        self._known: dict[str, tuple[str, Any]] = {}
        # A job that changes the job list (the tick's sync, a send's launch) holds this lock; `stop` takes it too
        # before the shutdown. APScheduler's shutdown(wait=True) waits for the running jobs while it holds its
        # job-store lock, so a job calling get_job/add_job then would wait for it forever.
        self._changing_jobs = threading.RLock()
        self._stopping = False

    def sync_jobs(self) -> None:
        """Rebuild `post:<id>` jobs from the queue (fixed ids, replace_existing); the tick decides what is sent."""
        with self._changing_jobs:
            if not self._stopping:
                self._sync_jobs()

    def _sync_jobs(self) -> None:
        wanted = self.engine.jobs()
        tz = ZoneInfo(self.engine.settings.scheduler.timezone)
        for job_id in set(self._known) - set(wanted):
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
        for job_id, (kind, when) in wanted.items():
            if self._known.get(job_id) == (kind, when):
                continue
            trig = (
                trigger(when, str(tz))
                if kind == "cron"
                else DateTrigger(run_date=when or self.engine.clock(), timezone=tz)
            )
            self.scheduler.add_job(
                self._fire, trig, id=job_id, replace_existing=True, misfire_grace_time=None, coalesce=True
            )
        self._known = wanted

    def _fire(self) -> None:
        self.engine.tick()

    def launch(self, post_id: int) -> None:
        """The post's send as a job of its own: logged once by APScheduler, never overlapping the tick."""
        with self._changing_jobs:
            if not self._stopping:
                self._add_send(post_id)

    def _add_send(self, post_id: int) -> None:
        self.scheduler.add_job(
            self._send,
            args=[post_id],
            id=f"send:{post_id}",
            name=f"send post {post_id}",
            executor=SEND_EXECUTOR,
            replace_existing=True,
            misfire_grace_time=None,
        )

    def _send(self, post_id: int) -> None:
        try:
            self.engine.send(post_id)
        except Exception:
            log.exception("sending post %s failed; the next tick takes it up again", post_id)

    def _tick(self) -> None:
        try:
            self.engine.tick()
            if self.engine.active:
                self.sync_jobs()
        except Exception:  # one hook for the unexpected: log it, the next tick goes on
            log.exception("scheduler tick failed")

    def _outbox(self) -> None:
        try:
            self.engine.outbox()
        except Exception:
            log.exception("outbox pass failed")

    def _review_check(self) -> None:
        try:
            self.engine.review_check()
        except Exception:
            log.exception("review check failed")

    def _analytics_rollup(self) -> None:
        try:
            self.engine.analytics_rollup()
        except Exception:
            log.exception("analytics rollup failed; the next run takes it up again")

    def start(self) -> Handle:
        self.engine.launch = self.launch
        self.scheduler.add_job(
            self._tick,
            "interval",
            seconds=TICK_SECONDS,
            id="tick",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            next_run_time=self.engine.clock().astimezone(ZoneInfo(self.engine.settings.scheduler.timezone)),
        )
        self.scheduler.add_job(
            self._outbox,
            "interval",
            seconds=TICK_SECONDS,
            id="outbox",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        tz = ZoneInfo(self.engine.settings.scheduler.timezone)
        hour, minute = (int(part) for part in self.engine.settings.scheduler.review_check_time.split(":"))
        self.scheduler.add_job(
            self._review_check,
            CronTrigger(hour=hour, minute=minute, timezone=tz),
            id="review-check",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=self.engine.clock().astimezone(tz),  # and once at start-up (at most one alert a day)
        )
        self.scheduler.add_job(
            self._analytics_rollup,
            CronTrigger(minute=ROLLUP_MINUTE, timezone=tz),
            id="analytics-rollup",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.start()
        return self

    def stop(self) -> None:
        self.engine.stop_event.set()
        with self._changing_jobs:  # a job changing the job list finishes first; none starts changing it after
            self._stopping = True
        self.scheduler.shutdown(wait=True)
        self.engine.release()
        self.engine.api.close()


def build(
    settings: Settings, sessions: sessionmaker[Session], catalog: Catalog, renderer: Renderer, **engine_options: Any
) -> Handle:
    """A scheduler that follows content reloads: each tick renders from the database's newest pack."""
    base_url = getattr(renderer, "base_url", settings.server.base_url)
    content = LiveContent(sessions, content_builder(base_url), Content(catalog, renderer))  # type: ignore[arg-type]
    engine = Engine(settings, sessions, catalog, renderer, content=content, **engine_options)
    executors = {"default": ThreadPoolExecutor(4), SEND_EXECUTOR: ThreadPoolExecutor(1)}
    scheduler = BackgroundScheduler(timezone=ZoneInfo(settings.scheduler.timezone), executors=executors)
    return Handle(engine, scheduler)


def start_embedded(
    settings: Settings, sessions: sessionmaker[Session], catalog: Catalog, renderer: Renderer, **engine_options: Any
) -> Handle:
    """Run the scheduler in this process's background threads (`wxbot serve`, `wxbot demo`)."""
    return build(settings, sessions, catalog, renderer, **engine_options).start()


def run_forever(
    settings: Settings, sessions: sessionmaker[Session], catalog: Catalog, renderer: Renderer, clock: Clock
) -> None:
    """`wxbot scheduler run`: run until SIGINT or SIGTERM, then shut down cleanly."""
    handle = start_embedded(settings, sessions, catalog, renderer, clock=clock)
    done = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping the scheduler", signum)
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    log.info("scheduler %s running (tick every %.0f s)", handle.engine.holder, TICK_SECONDS)
    try:
        done.wait()
    finally:
        handle.stop()
