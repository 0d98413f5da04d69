"""`wxbot chat`: a follower in the terminal, talking to a running demo (or stand-in) over HTTP."""

from __future__ import annotations

import random
import string
import threading
from typing import Annotated, Any

import requests
import typer
from rich.console import Console

console = Console()

HELP = (
    "type text to send it · a number taps that menu item · /follow · /scan SCENE · /unfollow · /menu · /scenes · /quit"
)


class ChatClient:
    """The follower's side: actions go to /sandbox/simulate, what arrives is read from /sandbox/inbox."""

    def __init__(self, url: str, openid: str) -> None:
        self.url = url.rstrip("/")
        self.openid = openid
        self.http = requests.Session()
        self.seen = 0
        self.lock = threading.Lock()

    def state(self) -> dict[str, Any]:
        return self.http.get(f"{self.url}/sandbox/state", timeout=10).json()

    def act(self, **body: Any) -> dict[str, Any]:
        answer = self.http.post(f"{self.url}/sandbox/simulate", json={"openid": self.openid, **body}, timeout=30)
        return answer.json()

    def new_messages(self) -> list[dict[str, Any]]:
        inbox = self.http.get(f"{self.url}/sandbox/inbox/{self.openid}", timeout=10).json().get("inbox", [])
        with self.lock:
            fresh, self.seen = inbox[self.seen :], len(inbox)
        return fresh


def menu_items(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The menu flattened in display order: top buttons without subs, and every sub-button."""
    items = []
    for top in state.get("menu") or []:
        for sub in top.get("sub_button") or [top]:
            items.append({**sub, "group": top["name"]})
    return items


def show_menu(items: list[dict[str, Any]]) -> None:
    group = None
    for number, item in enumerate(items, 1):
        if item["group"] != group:
            group = item["group"]
            console.print(f"[bold]{group}[/]")
        console.print(f"  {number:>2}. {item['name']}")


def show(record: dict[str, Any]) -> None:
    payload, kind, msgtype = record.get("payload") or {}, record.get("kind"), record.get("msgtype")
    label = {"reply": "回复", "custom": "客服消息", "template": "模板消息", "mass": "群发"}.get(kind or "", kind)
    console.rule(f"[cyan]公众号 · {label}[/]", align="left")
    if msgtype == "text":
        console.print(payload.get("content") or (payload.get("text") or {}).get("content", ""), markup=False)
    elif msgtype == "news":
        for article in payload.get("articles") or (payload.get("news") or {}).get("articles", []):
            title, description = article.get("title", ""), article.get("description", "")
            console.print(f"[bold]{title}[/]\n{description}\n{article.get('url', '')}")
    elif msgtype == "template":
        for key, value in (payload.get("data") or {}).items():
            console.print(f"{key}: {value.get('value', '')}", markup=False)
        if payload.get("url"):
            console.print(payload["url"])
    elif msgtype == "service_unavailable":
        console.print("[red]该公众号提供的服务出现故障，请稍后再试[/]")
    else:
        console.print(f"[{msgtype}] {payload}", markup=False)


def chat(
    url: Annotated[str, typer.Option("--url", help="Base URL of the running demo (its phone page).")] = (
        "http://127.0.0.1:8000"
    ),
    openid: Annotated[str | None, typer.Option("--openid", help="Act as this follower (default: a new one).")] = None,
) -> None:
    """Be a follower in the terminal: see the menu, tap items by number, type text, follow through a scene."""
    who = openid or "oChat" + "".join(random.choices(string.ascii_letters + string.digits, k=23))
    client = ChatClient(url, who)
    try:
        state = client.state()
    except requests.RequestException as exc:
        raise SystemExit(
            f"wxbot: cannot reach the demo at {url} ({type(exc).__name__}); start it with `wxbot demo`"
        ) from None
    items = menu_items(state)
    scenes = [str(t["scene"]) for t in state.get("tickets", [])]
    console.print(f"follower [bold]{who}[/] · {HELP}")
    show_menu(items)
    stop = threading.Event()

    def watch() -> None:  # pushes arrive at any time: print them as they come
        while not stop.wait(1.0):
            try:
                for record in client.new_messages():
                    show(record)
            except requests.RequestException:
                pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        while True:
            try:
                line = input("> ").strip()
            except EOFError:
                break
            if not line:
                continue
            if line in ("/quit", "/q"):
                break
            if line == "/menu":
                show_menu(items)
                continue
            if line == "/scenes":
                console.print("scenes: " + ", ".join(scenes))
                continue
            if line == "/follow":
                answer = client.act(action="follow")
            elif line.startswith("/scan"):
                scene = line[5:].strip()
                ticket = next((t["ticket"] for t in state.get("tickets", []) if str(t["scene"]) == scene), None)
                if ticket is None:
                    console.print(f"unknown scene {scene!r}; scenes: {', '.join(scenes)}")
                    continue
                following = any(f.get("openid") == who and f.get("subscribe") == 1 for f in _followers(client))
                answer = client.act(action="scan" if following else "follow", scene=scene, ticket=ticket)
            elif line == "/unfollow":
                answer = client.act(action="unfollow")
            elif line.isdigit() and 1 <= int(line) <= len(items):
                item = items[int(line) - 1]
                if item.get("type") == "view":
                    answer = client.act(action="view", url=item["url"])
                    console.print(f"(opens {item['url']})")
                else:
                    answer = client.act(action="click", key=item["key"])
            else:
                answer = client.act(action="send_text", text=line)
            if answer.get("error"):
                console.print(f"[red]{answer['error']}[/]", markup=True)
            for record in client.new_messages():
                show(record)
    finally:
        stop.set()


def _followers(client: ChatClient) -> list[dict[str, Any]]:
    return client.http.get(f"{client.url}/sandbox/followers", timeout=10).json().get("followers", [])
