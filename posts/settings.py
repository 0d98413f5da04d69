"""The one settings object: read once from a TOML file, overridable from the environment.

Nothing here runs at import time. Call :func:`load_settings` once in the composition root
(the ``wxbot`` command) and pass the frozen result down.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from posts import notice_fields, template_fields

ENV_CONFIG = "WXBOT_CONFIG"
ENV_PREFIX = "WXBOT_"

MessageMode = Literal["plain", "compat", "safe"]
AccountType = Literal["subscription", "service"]
StoreChoice = Literal["auto", "per_push", "group_commit"]


class SettingsError(ValueError):
    """A configuration problem, phrased as one line that names the key and the file."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/wxbot.db"
    """SQLAlchemy URL; SQLite by default, postgresql+psycopg://... in production."""
    pool_size: int = 5


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = ""
    """Base URL followers' phones use for content pages; empty means http://host:port."""
    workers: int = 2
    threads: int = 8
    store: StoreChoice = "auto"
    """How the bot commits each push's rows (bot.store): "per_push" (one transaction each), "group_commit" (the
    pushes in flight in one transaction), or "auto" (group commit on a SQLite file, per push otherwise)."""
    writers: int = 1
    """PostgreSQL group commit: batches committed at once per worker (a writer thread and a connection each), so
    that one batch waits for its COMMIT's fsync while the next is claimed."""

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class NoticeSettings:
    """Subscribe notices (订阅通知): ``[wechat.notices]`` with ``long_term`` and one ``[wechat.notices.<purpose>]``
    table per notice template (``template_id``, ``page``, ``serves`` and keyword → source, posts/notice_fields.py)."""

    long_term: bool = False
    """Whether the account's notices are long-term (public medical services only): a send does not use the consent."""
    simulate: bool = False
    """The stand-in plays WeChat (demo, tests): pages offer a plain link that simulates the consent popup."""
    purposes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.purposes)

    def offered(self) -> str | None:
        """The template id therapy pages offer ("notify me of the next update"): the notice serving updates."""
        found = self.for_post("update:")
        return found[1]["template_id"] if found else None

    def for_post(self, content: str, purpose: str | None = None) -> tuple[str, dict[str, str]] | None:
        """The notice announcing a post of ``content`` (section:…, update:…, digest, text): the one its purpose
        names, else the first whose ``serves`` lists the content's kind; None when there is none."""
        if purpose and purpose in self.purposes:
            return purpose, self.purposes[purpose]
        kind = content.split(":", 1)[0]
        for name, spec in self.purposes.items():
            if kind in notice_fields.serves(spec):
                return name, spec
        return None


@dataclass(frozen=True)
class WeChatSettings:
    app_id: str = ""
    app_secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    original_id: str = ""
    message_mode: MessageMode = "plain"
    account_type: AccountType = "service"
    api_base_url: str = ""
    """Where WeChat's API answers; empty means the real platform, or the built-in stand-in without credentials."""
    api_timeout: float = 10.0
    """Seconds to wait for WeChat's answer; a custom message whose answer does not come in time is "unknown"."""
    templates: dict[str, dict[str, str]] = field(default_factory=dict)
    """Template messages by purpose: ``[wechat.templates.<purpose>]`` with ``template_id`` and one key per template
    field naming what fills it (posts/template_fields.py). Never used for news: only posts given that purpose."""
    notices: NoticeSettings = field(default_factory=NoticeSettings)
    """Subscribe notices by purpose, and whether the account's consents are long-term (``[wechat.notices]``)."""

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.app_secret)


@dataclass(frozen=True)
class SchedulerSettings:
    timezone: str = "Asia/Shanghai"
    quiet_hours_start: str = "22:00"
    quiet_hours_end: str = "08:00"
    misfire_grace_seconds: int = 3600
    embedded: bool = True
    """Run the scheduler inside `wxbot serve` (single-machine default)."""
    dedupe_keep_hours: int = 48
    """How long the bot's dedupe rows and stored replies are kept (posts.retention); WeChat redelivers for ~15 s."""
    review_check_time: str = "09:00"
    """Local time (HH:MM, ``timezone``) of the daily check for content past its next_review date (posts.alerts)."""


@dataclass(frozen=True)
class ContentSettings:
    path: str = ""
    """Folder of the content pack; empty means the pack shipped in posts/content."""


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    """redis://host:port/db for the shared cache and lock; empty means the database is used."""


@dataclass(frozen=True)
class ConsoleSettings:
    host: str = "127.0.0.1"
    """Address `wxbot console` listens on: staff only, it need not face the internet."""
    port: int = 8090
    https: bool = False
    """The console is reached over HTTPS (a proxy in front): its cookie is then marked Secure."""
    idle_minutes: int = 30
    """A session unused this long ends."""
    session_hours: int = 12
    """A session ends this long after sign-in, however active."""
    max_failures: int = 5
    """Wrong passwords in a row that lock an account."""
    lockout_minutes: int = 15
    """How long a locked account stays locked (an admin's reset-password unlocks it at once)."""
    address_max_failures: int = 20
    """Wrong passwords from one address within address_window_minutes before that address is refused."""
    address_window_minutes: int = 15

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    wechat: WeChatSettings = field(default_factory=WeChatSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    content: ContentSettings = field(default_factory=ContentSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    source: str = "<defaults>"
    """Where these settings came from (file path or <defaults>); not a TOML key."""


SECRET_KEYS = {("wechat", "app_secret"), ("wechat", "token"), ("wechat", "encoding_aes_key")}
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def setting_keys() -> dict[str, list[str]]:
    """Every table and key the settings accept, in declaration order."""
    tables: dict[str, list[str]] = {}
    for table in dataclasses.fields(Settings):
        if table.name == "source":
            continue
        tables[table.name] = [f.name for f in dataclasses.fields(_table_type(table.name))]
    return tables


def _table_type(name: str) -> type:
    hints = typing.get_type_hints(Settings)
    return hints[name]


def _notices(value: Any, where: str) -> NoticeSettings:
    if not isinstance(value, dict):
        raise SettingsError(f"{where}: must be a table ([wechat.notices])")
    flags = {}
    for key in ("long_term", "simulate"):
        flags[key] = value.get(key, False)
        if not isinstance(flags[key], bool):
            raise SettingsError(f"{where[:-1]}.{key}': must be true or false, got {flags[key]!r}")
    purposes = {}
    for key, inner in value.items():
        if key not in flags:
            purposes[key] = _check_type(inner, dict[str, str], f"{where[:-1]}.{key}'")
    return NoticeSettings(purposes=purposes, **flags)


def _check_type(value: Any, hint: Any, where: str) -> Any:
    if hint is NoticeSettings:
        return _notices(value, where)
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise SettingsError(f"{where}: must be one of {choices}, got {value!r}")
        return value
    if origin is dict and typing.get_args(hint)[1] is not str:
        if not isinstance(value, dict):
            raise SettingsError(f"{where}: must be a table of tables")
        return {key: _check_type(inner, dict[str, str], f"{where[:-1]}.{key}'") for key, inner in value.items()}
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise SettingsError(f"{where}: must be a table of strings")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{where}: must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{where}: must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SettingsError(f"{where}: must be a positive number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise SettingsError(f"{where}: must be a string, got {value!r}")
        return value
    raise SettingsError(f"{where}: unsupported setting type {hint!r}")  # pragma: no cover


def _from_env(raw: str, hint: Any, where: str) -> Any:
    if hint is bool:
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{where}: must be true or false, got {raw!r}")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{where}: must be an integer, got {raw!r}") from None
    if hint is float:
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{where}: must be a number, got {raw!r}") from None
    return raw


def _build_table(name: str, values: dict[str, Any], source: str, env: typing.Mapping[str, str]) -> Any:
    cls = _table_type(name)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise SettingsError(f"{source}: unknown key '{name}.{key}'")
    kwargs: dict[str, Any] = {}
    for key in known:
        hint = hints[key]
        env_name = f"{ENV_PREFIX}{name.upper()}_{key.upper()}"
        if env_name in env and typing.get_origin(hint) is not dict and hint is not NoticeSettings:
            kwargs[key] = _check_type(_from_env(env[env_name], hint, env_name), hint, env_name)
        elif key in values:
            kwargs[key] = _check_type(values[key], hint, f"{source}: '{name}.{key}'")
    return cls(**kwargs)


def _validate(settings: Settings) -> None:
    src = settings.source
    wx = settings.wechat
    if wx.app_id or wx.app_secret:
        for key in ("app_id", "app_secret", "token"):
            if not getattr(wx, key):
                raise SettingsError(f"{src}: missing required value 'wechat.{key}' (needed with wechat.app_id)")
    if wx.message_mode != "plain" and wx.configured and len(wx.encoding_aes_key) != 43:
        raise SettingsError(
            f"{src}: 'wechat.encoding_aes_key' must be 43 characters for message_mode {wx.message_mode!r}"
        )
    if wx.token and not re.fullmatch(r"[A-Za-z0-9]{3,32}", wx.token):
        raise SettingsError(f"{src}: 'wechat.token' must be 3-32 letters or digits")
    for purpose, spec in wx.templates.items():
        problem = template_fields.check_mapping(spec)
        if problem:
            raise SettingsError(f"{src}: 'wechat.templates.{purpose}': {problem}")
    for purpose, spec in wx.notices.purposes.items():
        problem = notice_fields.check_mapping(spec)
        if problem:
            raise SettingsError(f"{src}: 'wechat.notices.{purpose}': {problem}")
    for key in ("quiet_hours_start", "quiet_hours_end", "review_check_time"):
        if not _TIME_RE.match(getattr(settings.scheduler, key)):
            raise SettingsError(f"{src}: 'scheduler.{key}' must be HH:MM, got {getattr(settings.scheduler, key)!r}")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.scheduler.timezone)
    except Exception:
        raise SettingsError(f"{src}: 'scheduler.timezone' is not a known timezone") from None
    if settings.scheduler.dedupe_keep_hours < 1:
        raise SettingsError(f"{src}: 'scheduler.dedupe_keep_hours' must be at least 1")
    if not (0 < settings.server.port < 65536):
        raise SettingsError(f"{src}: 'server.port' must be between 1 and 65535")
    if settings.server.workers < 1 or settings.server.threads < 1 or settings.server.writers < 1:
        raise SettingsError(f"{src}: 'server.workers', 'server.threads' and 'server.writers' must be at least 1")
    con = settings.console
    if not (0 < con.port < 65536):
        raise SettingsError(f"{src}: 'console.port' must be between 1 and 65535")
    for key in (
        "idle_minutes",
        "session_hours",
        "max_failures",
        "lockout_minutes",
        "address_max_failures",
        "address_window_minutes",
    ):
        if getattr(con, key) < 1:
            raise SettingsError(f"{src}: 'console.{key}' must be at least 1")
    if settings.server.store == "group_commit" and not group_commit_possible(settings.database.url):
        raise SettingsError(f"{src}: 'server.store' = \"group_commit\" needs a SQLite file or PostgreSQL database")


def group_commit_possible(url: str) -> bool:
    """Whether the bot can group-commit on ``url``: a SQLite file or PostgreSQL (an in-memory SQLite database is
    one per connection, so the writer's connection would not be the others')."""
    backend, _, rest = url.partition("://")
    backend = backend.split("+")[0]
    if backend == "sqlite":
        return rest.lstrip("/") not in ("", ":memory:")
    return backend in ("postgresql", "postgres")


def load_settings(path: str | os.PathLike[str] | None = None, env: typing.Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``path`` (or $WXBOT_CONFIG), apply environment overrides, validate.

    With no file at all the embedded defaults apply. Raises :class:`SettingsError` with one line.
    """
    env = os.environ if env is None else env
    chosen = path if path is not None else env.get(ENV_CONFIG) or None
    data: dict[str, Any] = {}
    source = "<defaults>"
    if chosen is not None:
        file = Path(chosen)
        source = str(file)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"{source}: config file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{source}: cannot read config file ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{source}: not valid TOML ({exc})") from None
    tables = setting_keys()
    for name, value in data.items():
        if name not in tables:
            raise SettingsError(f"{source}: unknown table or key '{name}'")
        if not isinstance(value, dict):
            raise SettingsError(f"{source}: '{name}' must be a table ([{name}])")
    built = {name: _build_table(name, data.get(name, {}), source, env) for name in tables}
    settings = Settings(**built, source=source)
    _validate(settings)
    return settings


def replace(settings: Settings, **tables: dict[str, Any]) -> Settings:
    """A copy of ``settings`` with some keys of some tables changed (for tests and the demo)."""
    changed = {name: dataclasses.replace(getattr(settings, name), **values) for name, values in tables.items()}
    return dataclasses.replace(settings, **changed)


__all__ = [
    "ENV_CONFIG",
    "SECRET_KEYS",
    "NoticeSettings",
    "Settings",
    "SettingsError",
    "load_settings",
    "replace",
    "setting_keys",
]
