"""Matching by meaning: the pack's intents (questions.yaml) answer the questions families type."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from bot.handlers import Context, uses_database
from bot.handlers import text as text_answers
from bot.matcher import Matcher, fold, typos
from bot.message import Inbound
from bot.routes import QuestionRoute, TextRoutes, text_routes
from bot.texts import Texts
from posts import inbox, received
from posts.addresses import PARTS
from posts.catalog import Catalog, Cue, Intent, QuestionRules, normalize
from posts.content_sync import to_json
from posts.live import from_json
from posts.loader import default_content_dir, load_catalog
from posts.menu import load_menu, menu_path
from posts.render import Renderer
from posts.settings import Settings
from tests.bot.conftest import serve_with
from tests.bot.wechat import OPENID, text_push
from wxbot.replycheck import reply_problems

HERE = Path(__file__).resolve().parent
QUESTIONS = yaml.safe_load((HERE / "questions.yaml").read_text(encoding="utf-8"))


def pack_with_targets(tmp: Path) -> Path:
    """A copy of the shipped pack, which has every section an intent points at (the family guide, guide/)."""
    pack = tmp / "content"
    shutil.copytree(default_content_dir(), pack)
    assert all((pack / part).is_dir() for part in PARTS)
    return pack


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    found, problems = load_catalog(pack_with_targets(tmp_path_factory.mktemp("pack")))
    assert problems == []
    assert found.questions is not None
    return found


@pytest.fixture(scope="module")
def routes(catalog: Catalog) -> TextRoutes:
    return text_routes(catalog)


def target(routes: TextRoutes, message: str) -> str:
    """Where a message goes, in the notation of tests/bot/questions.yaml."""
    found = routes.target(message)
    if found.startswith("suggest:"):
        handler = routes._first(normalize(message.strip()))
        assert isinstance(handler, partial) and uses_database(handler)  # the question goes to the inbox
        assert handler.func is text_answers.did_you_mean
    return found


def expected(routes: TextRoutes, expect: str) -> str:
    kind, _, word = expect.partition(":")
    return target(routes, word) if kind == "keyword" else expect


def test_the_list_is_long_and_covers_every_intent(catalog: Catalog) -> None:
    assert len(QUESTIONS) >= 60
    assert catalog.questions is not None
    named = {item["expect"] for item in QUESTIONS}
    for intent in catalog.questions.intents:
        assert intent.ref in named or f"keyword:{intent.word}" in named or intent.ref.startswith("therapy:"), intent
    assert "default" in named and any(e.startswith("suggest:") for e in named)


def test_every_listed_question_goes_where_it_should(routes: TextRoutes) -> None:
    missed, answered, right, topical = [], 0, 0, 0
    for item in QUESTIONS:
        want, got = expected(routes, item["expect"]), target(routes, item["q"])
        is_topic = got not in ("default",) and not got.startswith("suggest:")
        answered += is_topic
        right += is_topic and got == want
        topical += want != "default" and not want.startswith("suggest:")
        if got != want:
            missed.append(f"{item['q']!r}: expected {want}, got {got}")
    precision = right / answered if answered else 1.0
    recall = right / topical if topical else 1.0
    print(f"\nquestions: {len(QUESTIONS)}, answered with a topic: {answered}, precision {precision:.3f}, "
          f"recall {recall:.3f}, missed {len(missed)}")  # fmt: skip
    assert missed == []


def test_matching_takes_well_under_a_millisecond(catalog: Catalog) -> None:
    route = text_routes(catalog).rules[-1]
    assert isinstance(route, QuestionRoute)
    words = [normalize(item["q"]) for item in QUESTIONS]
    route.matcher.match(words[0])
    rounds = 20
    started = time.process_time()  # CPU time: the figure does not depend on how busy the machine is
    for _ in range(rounds):
        for word in words:
            route.matcher.match(word)
    each = (time.process_time() - started) / (rounds * len(words))
    print(f"\nmatch: {each * 1e6:.1f} µs of CPU per question over {len(words)} questions (uncached)")
    assert each < 0.001


def test_every_intent_word_and_example_reaches_its_intent(catalog: Catalog, routes: TextRoutes) -> None:
    assert catalog.questions is not None
    for intent in catalog.questions.intents:
        own = expected(routes, intent.ref)
        assert target(routes, intent.word) == own, intent.word
        for question in intent.questions:
            assert target(routes, question) == own, question


def test_exact_rules_keep_priority_and_the_default_comes_last(catalog: Catalog, routes: TextRoutes) -> None:
    assert isinstance(routes.rules[-1], QuestionRoute)
    assert all(not isinstance(r, QuestionRoute) for r in routes.rules[:-1])
    assert target(routes, "你好") == "reply:" + next(r.reply for r in catalog.keywords if "你好" in r.patterns)
    assert target(routes, "帮助") == "help" and target(routes, "我的订阅") == "command:mine"
    without = text_routes(replace(catalog, questions=None))
    assert target(without, "打干细胞要多少钱") == "default"  # no code routes a question: only the pack's intents
    assert target(routes, "打干细胞要多少钱") == "section:cost-and-access"


def test_a_cue_after_a_refusal_does_not_count_where_the_intent_says_so() -> None:
    cost = Intent("cost", "section:cost", "费用", "费用", cues=(Cue("打干细胞", 0.6),), negated="drop")
    scams = Intent("scams", "section:scams", "骗局", "骗局", cues=(Cue("骗局", 0.6),))
    matcher = Matcher(QuestionRules((cost, scams), negations=("不想", "不是")), {})
    assert matcher.match("哪里打干细胞").answer == cost
    assert matcher.match("不想打干细胞了").answer is None
    assert matcher.match("不是骗局吧").answer == scams  # "same": still a question about scams


def test_a_therapy_name_yields_to_the_topic_asked_about() -> None:
    card = Intent("nurown", "therapy:nurown", "NurOwn", "NurOwn", questions=("nurown进展",), yields=True)
    cost = Intent("cost", "section:cost", "费用", "费用", cues=(Cue("多少钱", 0.6),))
    matcher = Matcher(QuestionRules((card, cost), name_weight=0.9), {"nurown": ("nurown", "mscntf")})
    assert matcher.match("nurown多少钱").answer == cost
    assert matcher.match("nurwon现在咋样").answer == card  # one typo in a name of letters
    assert matcher.match("多少钱").answer == cost


def test_a_held_word_matches_nothing() -> None:
    cure = Intent("cure", "keyword:治愈", "治愈", "治愈", cues=(Cue("治好", 0.9),))
    matcher = Matcher(QuestionRules((cure,), hold=("呼吸困难",)), {})
    assert matcher.match("能治好吗").answer == cure
    assert matcher.match("呼吸困难，能治好吗").answer is None
    assert matcher.match("呼吸困难，能治好吗").close == ()


def test_folding_and_typos() -> None:
    assert fold("ＮｕｒＯｗｎ，多少钱？ ALSFRS-R") == "nurown多少钱alsfrsr"
    assert typos("nurwon", "nurown") == 1 and typos("nuroun", "nurown") == 1 and typos("nrwn", "nurown") == 2


def test_a_weak_match_offers_the_two_closest_topics_with_the_disclaimer(
    catalog: Catalog, routes: TextRoutes, sessions: sessionmaker[Session]
) -> None:
    handler = routes._first(normalize("干细胞"))
    assert uses_database(handler)  # the question also goes to the inbox
    message = Inbound.from_fields(
        {
            "MsgType": "text",
            "Content": "干细胞",
            "FromUserName": OPENID,
            "MsgId": "77",
            "CreateTime": "1",
            "ToUserName": "gh",
        }
    )
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with sessions() as session:
        ctx = Context(session, catalog, Renderer(catalog, "http://bot.test"), Texts(), message, now)
        reply = handler(ctx)
        session.flush()
        assert [(i.text, i.reason, i.urgent) for i in inbox.listing(session)] == [("干细胞", "suggest", False)]
    body = reply.content  # type: ignore[attr-defined]
    assert catalog.questions is not None
    by_key = {i.key: i for i in catalog.questions.intents}
    for key in ("cure", "cost"):
        assert by_key[key].label in body and f"“{by_key[key].word}”" in body
    closing = ctx.renderer.closing(body)  # a short reply closes with the disclaimer's one-line form
    assert catalog.disclaimer is not None and body.rstrip().endswith(closing.strip())


def test_an_intent_whose_section_is_not_written_yet_waits_for_it(tmp_path: Path) -> None:
    shipped, problems = load_catalog(default_content_dir())
    assert problems == [] and shipped.questions is not None
    keys = {s.key for s in shipped.sections}
    pending = shipped.pending_intents()
    assert {i.key for i in pending} == {
        i.key for i in shipped.questions.intents if i.ref.startswith("section:") and i.ref[8:] not in keys
    }
    routes = text_routes(shipped)
    for intent in pending:
        assert target(routes, intent.word) != intent.ref  # not matched to a section that is not there
    pack = pack_with_targets(tmp_path)
    (pack / "questions.yaml").write_text(
        (pack / "questions.yaml").read_text(encoding="utf-8").replace("section:scams", "section:frauds"), "utf-8"
    )
    catalog, problems = load_catalog(pack)
    assert problems == [] and [i.key for i in catalog.pending_intents()] == ["scams"]
    assert target(text_routes(catalog), "是不是骗局") == "default"


def test_the_rules_survive_the_database_round_trip(catalog: Catalog) -> None:
    assert catalog.questions is not None
    assert from_json(QuestionRules, to_json(catalog.questions)) == catalog.questions


BAD = {
    "a bad ref": ("ref: section:cost-and-access", "ref: sections/cost", "bad keyword ref 'sections/cost'"),
    "an unknown therapy": ("ref: therapy:str03", "ref: therapy:str04", "unknown therapy 'str04'"),
    "a word no rule answers": ("ref: keyword:治愈", "ref: keyword:天气", "no keyword rule answers '天气'"),
    "a weight over 1": ("{多少钱: 0.7,", "{多少钱: 7,", "must be a number above 0 and at most 1"),
    "thresholds the wrong way": ("suggest_at: 0.3", "suggest_at: 0.9", "suggest_at must be below answer_at"),
    "a duplicate key": ("key: scams", "key: trials", "duplicate intent key 'trials'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_loader_reports_a_bad_intent_and_keeps_the_others(tmp_path: Path, case: str) -> None:
    old, new, message = BAD[case]
    pack = pack_with_targets(tmp_path)
    path = pack / "questions.yaml"
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    found, problems = load_catalog(pack)
    assert len(problems) == 1 and message in problems[0].message and problems[0].path == "questions.yaml"
    if case != "thresholds the wrong way":
        assert found.questions is not None and len(found.questions.intents) == 12


def test_content_check_runs_every_intent_and_refuses_a_word_that_misses_it(tmp_path: Path) -> None:
    pack = pack_with_targets(tmp_path)
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)

    def problems_of(catalog: Catalog) -> list[str]:
        return reply_problems(catalog, load_menu(menu_path(pack)), Renderer(catalog, "http://bot.test"), now)

    catalog, _ = load_catalog(pack)
    assert problems_of(catalog) == []
    path = pack / "questions.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("word: 费用", "word: 你好", 1), encoding="utf-8")
    catalog, _ = load_catalog(pack)
    assert [p for p in problems_of(catalog) if "intent 'cost'" in p] == [
        "questions.yaml intent 'cost': its word '你好' reaches reply:"
        + next(r.reply for r in catalog.keywords if "你好" in r.patterns)  # type: ignore[operator]
        + ", not section:cost-and-access; choose a word that reaches it"
    ]


def test_over_http_a_question_gets_its_section_recorded_and_a_vague_one_the_closest_topics(
    settings: Settings, sessions: sessionmaker[Session], catalog: Catalog
) -> None:
    with serve_with(settings, sessions, catalog, "plain") as live:
        reply = live.wechat.push(text_push("请问台湾能做吗？"))
        with live.sessions() as s:
            assert received.already(s, received.section_ref("cost-and-access"), [OPENID]) == {OPENID}
        assert reply.msg_type in ("text", "news")
        suggested = live.wechat.push(text_push("干细胞"))
        assert suggested.content.startswith("您是想问：")
        urgent = live.wechat.push(text_push("我妈妈喘不上气，干细胞能治好吗"))
        assert urgent.content.startswith("如果病人现在呼吸困难") and "120" in urgent.content  # before any rule
