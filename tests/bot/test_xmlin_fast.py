"""bot.xmlin's fast path reads exactly what the full parser reads, and refuses (by falling back) all the rest."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.crypto import MessageCrypto
from bot.xmlin import LIST_FIELDS, BadXml, _parse_fast, _parse_full, parse_fields
from tests.bot.conftest import AES_KEY, APP_ID, TOKEN
from tests.bot.wechat import GH, event_push, media_push, text_push, xml


def _mostly(usual: list[str], odd: list[str], percent: int = 90) -> st.SearchStrategy[str]:
    """One of ``usual`` ``percent`` times in a hundred, else one of ``odd``."""
    return st.integers(0, 99).flatmap(lambda i: st.sampled_from(usual if i < percent else odd))


# Harmless anywhere (but ``]]`` and ``>`` meeting) / harmless in CDATA only / refused or changed by XML everywhere.
_PLAIN = ["a", "Z", "0", " ", "\t", "\n", "]", "]]", ">", "中", "文", "\u3000", "\u2028", "\x85", "\x7f", "\ufffd"]
_PLAIN += ["\U0001d11e", "\U0001fffe", "\U0010ffff", "&amp;", "&lt;", "&#20320;"]
_MARKUP = ["<", "&", "&bogus;", "&#1;", "]]>", "<![CDATA[", "<!DOCTYPE x>", "<!-- c -->", "<B>", "</B>", "<B/>"]
_BAD = ["\r", "\r\n", "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]
_TAGS = ["ToUserName", "Content", "A", "a", "_x", "x.y-z", "xml", "MsgId", "Event"]
_ODD_TAGS = ["9x", "a:b", "中", "-a", "A.", "A B", *LIST_FIELDS]

_piece = st.one_of(_mostly(_PLAIN, _MARKUP + _BAD, 85), st.characters())  # any code point, surrogates too
_text = st.lists(_piece, max_size=8).map("".join)
_safe_text = st.text(
    st.characters(blacklist_characters="\r<&]", blacklist_categories=("Cs",)).filter(
        lambda c: c in "\t\n" or (c >= " " and c not in "\ufffe\uffff")
    ),
    max_size=12,
)


def _safe_field(tag: str, value: str, cdata: bool) -> str:
    return f"<{tag}><![CDATA[{value}]]></{tag}>" if cdata else f"<{tag}>{value}</{tag}>"


@st.composite
def _field(draw: st.DrawFn) -> str:
    tag = draw(_mostly(_TAGS, _ODD_TAGS))
    close = draw(_mostly([tag], ["B", tag + " ", tag.upper(), tag + "x"], 95))
    text = draw(_text)
    shape = draw(st.integers(0, 15))  # mostly flat fields, plain text or CDATA
    if shape < 4:
        body = text
    elif shape < 8:
        body = f"<![CDATA[{text}]]>"
    elif shape == 8:
        body = f"<![CDATA[{text}]]><![CDATA[{draw(_text)}]]>"  # as a ]]> in the text is written
    elif shape == 9:
        body = f"{draw(_text)}<![CDATA[{text}]]>{draw(_text)}"
    elif shape == 10:
        body = f"{text}<C>{draw(_text)}</C>{draw(_text)}"
    elif shape == 11:
        return f"<{tag}/>"
    elif shape == 12:
        return f'<{tag} k="{draw(_text)}">{text}</{close}>'
    elif shape == 13:
        body = f"{text}<!-- {draw(_text)} -->"
    elif shape == 14:
        body = f"<?pi {text}?>"
    else:
        body = ""
    return f"<{tag}>{body}</{close}>"


_gap = _mostly(["", " ", "\n", "\t", "\n  "], ["\r\n", "\r", "x", "\u3000", "&amp;", "<!-- c -->", "\x01", "<B/>"])
_ODD_PROLOGS = ["\r\n", "\ufeff", '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?>\n', "<!-- c -->"]
_ODD_PROLOGS += ["<?pi?>", "<!DOCTYPE xml>", '<!DOCTYPE xml [<!ENTITY e "x">]>', "x"]
_prolog = _mostly(["", " \n\t"], _ODD_PROLOGS)
_root = _mostly(["<xml>"], ["<xml >", '<xml a="1">', "<xm>", "<XML>", "<xml/>"])
_epilog = _mostly(["", "\n", " \t\n"], ["\r\n", "x", "<!-- c -->", "<xml></xml>", "<A>1</A>", "\x00"])


@st.composite
def _document(draw: st.DrawFn) -> str:
    fields = draw(st.lists(st.tuples(_gap, _field()), max_size=6))
    start = draw(_root)
    end = "" if start.endswith("/>") else start.replace("<", "</").replace(' a="1"', "").replace(" ", "")
    children = "".join(gap + field for gap, field in fields) + draw(_gap)
    return draw(_prolog) + start + children + end + draw(_epilog)


_CDATA_ONLY = ["<", "&", "&bogus;", "<!DOCTYPE x>", "<![CDATA[", "<B/>"]
_SLIPS = st.one_of(
    st.sampled_from(["\r", "\r\n", "&", "&amp;", "<", "]]>", "]]", ">", "<B>", "</B>", "<B/>", "<!-- c -->"]),
    st.sampled_from(["<![CDATA[", "<!DOCTYPE x>", "<?pi?>"]),
    st.sampled_from(["\x00", "\x01", "\x0b", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff", "\U0001fffe"]),
    st.characters(),
)
_GAPS = ["", "", " ", "\n", "\t\n  "]
_ODD_GAPS = ["\r", "\r\n", "x", "\u3000", "\x0c", "&amp;", "<!-- c -->", "<?pi?>", "<![CDATA[ ]]>"]


@st.composite
def _fast_document(draw: st.DrawFn, slip: bool = False) -> str:
    """A flat document; with ``slip``, one slip: into a text, an odd tag, an odd gap, or anything anywhere."""
    fields = []
    for tag, cdata in draw(st.lists(st.tuples(st.sampled_from(_TAGS), st.booleans()), max_size=8)):
        pieces = [_safe_text, st.sampled_from(["]", "]]", ">", *(_CDATA_ONLY if cdata else [])])]
        value = draw(st.lists(st.one_of(pieces), max_size=4).map("".join).filter(lambda v: "]]>" not in v))
        fields.append([tag, value, cdata])
    gaps = draw(st.lists(st.sampled_from(_GAPS), min_size=len(fields) + 3, max_size=len(fields) + 3))
    where = draw(st.integers(0, 3)) if slip else None
    if where == 0 and fields:
        field = fields[draw(st.integers(0, len(fields) - 1))]
        at = draw(st.integers(0, len(field[1])))
        field[1] = field[1][:at] + draw(_SLIPS) + field[1][at:]
    elif where == 1 and fields:
        fields[draw(st.integers(0, len(fields) - 1))][0] = draw(st.sampled_from(_ODD_TAGS))
    elif where == 2:
        gaps[draw(st.integers(0, len(gaps) - 1))] = draw(st.sampled_from(_ODD_GAPS))
    children = "".join(gap + _safe_field(*field) for gap, field in zip(gaps[3:], fields, strict=True))
    body = f"{gaps[0]}<xml>{children}{gaps[1]}</xml>{gaps[2]}"
    if where == 3:
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(_SLIPS) + body[at:]
    return body


def _full_or_error(body: str) -> dict[str, str] | type[BadXml]:
    try:
        return _parse_full(body)
    except BadXml:
        return BadXml


def _assert_same(body: str) -> dict[str, str] | None:
    full = _full_or_error(body)
    fast = _parse_fast(body)
    assert fast is None or fast == full, (body, fast, full)
    for given_body in (body, body.encode("utf-8", "surrogatepass")):
        if full is BadXml:
            with pytest.raises(BadXml):
                parse_fields(given_body)
        else:
            assert parse_fields(given_body) == full, (body, full)
    return fast


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_document())
def test_fast_path_agrees_with_the_full_parser(body: str) -> None:
    _assert_same(body)


@settings(max_examples=400, deadline=None)
@given(_fast_document(slip=True))
def test_fast_path_agrees_on_near_misses(body: str) -> None:
    _assert_same(body)


@settings(max_examples=200, deadline=None)
@given(_fast_document())
def test_flat_documents_take_the_fast_path(body: str) -> None:
    assert _assert_same(body) is not None, body


_EVERY_SLIP = [*_MARKUP, *_BAD, *_PLAIN, *"9:-. =/\"'?![x", "<?pi?>", "<xml>", "</xml>", "</A>", "CDATA["]


@pytest.mark.parametrize("base", ["<xml><A>a]b</A><B><![CDATA[c]d]]></B><C></C></xml>", "\n<xml>\n <A>1</A>\t</xml> "])
def test_every_slip_in_every_place(base: str) -> None:
    assert _parse_fast(base) is not None
    for slip in _EVERY_SLIP:
        for at in range(len(base) + 1):
            _assert_same(base[:at] + slip + base[at:])
    for tag in _ODD_TAGS:
        _assert_same(base.replace("<A>", f"<{tag}>").replace("</A>", f"</{tag}>"))


@pytest.mark.parametrize(
    "body",
    [
        "<xml><A><![CDATA[x]]></A><A>y</A></xml>",  # the last of a repeat wins
        "<xml><A><![CDATA[a]]]></A><B><![CDATA[]]></B><C></C><D>a]]b > c</D></xml>",
        "<xml><Content><![CDATA[<!DOCTYPE x>]]></Content></xml>",  # text, not a DTD: defusedxml reads it alike
        " \n<xml>\n\t<A>1</A>\n</xml>\n",
        "<xml></xml>",
        "<xml><xml>inner</xml></xml>",
        "<xml><A>\x7f\x85\u2028\U0001fffe\U0001d11e 中</A></xml>",
    ],
)
def test_fast_shapes(body: str) -> None:
    assert _assert_same(body) is not None


@pytest.mark.parametrize(
    "body",
    [
        "<xml><A><![CDATA[a]]>b]]></A></xml>",
        "<xml><A>a]]>b</A></xml>",
        "<xml><A>a\rb</A></xml>",
        "<xml><A><![CDATA[a\r\nb]]></A></xml>",
        "<xml><A>a\x01</A></xml>",
        "<xml><A><![CDATA[\ufffe]]></A></xml>",
        "<xml><A>\ud800</A></xml>",
        "<xml><A>x</B></xml>",
        "<xml><A>x</A>junk</xml>",
        "<xml><A><B>1</B></A></xml>",
        "<xml><A/></xml>",
        '<xml><A k="1">x</A></xml>',
        "<xml><A>a &amp; b</A></xml>",
        "<xml><A><![CDATA[a]]> </A></xml>",
        "<xml><A><![CDATA[a]]><![CDATA[b]]></A></xml>",
        "<xml><!-- c --><A>x</A></xml>",
        '<?xml version="1.0" encoding="UTF-8"?><xml><A>x</A></xml>',
        "<!DOCTYPE xml><xml><A>x</A></xml>",
        "\ufeff<xml><A>x</A></xml>",
        "<xml>\r\n<A>x</A></xml>",
        "<xml><a:b>x</a:b></xml>",
        "<xml><9x>1</9x></xml>",
        "<xml><中>1</中></xml>",
        "<xml><A>1</A>\r</xml>",
        "<xml><SubscribeMsgPopupEvent>x</SubscribeMsgPopupEvent></xml>",
        "<xml><A>x</A></xml><xml></xml>",
        "<xml/>",
        "<xml><A>1</A>",
    ],
)
def test_other_shapes_fall_back(body: str) -> None:
    assert _parse_fast(body) is None
    _assert_same(body)


def test_real_pushes_take_the_fast_path() -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    pushes = [
        text_push("你好，请问 NurOwn 的副作用是什么？"),
        text_push("a]]b & <c>\n第二行 😀"),
        event_push("subscribe"),
        event_push("CLICK", "TOC"),
        event_push("VIEW", "https://example.com/?a=1&b=2"),
        *(media_push(kind) for kind in ("image", "voice", "video", "shortvideo", "location", "link")),
    ]
    for push in pushes:
        envelope = xml(ToUserName=GH, Encrypt=crypto.encrypt(push))
        for body in (push, envelope):
            fast = _parse_fast(body)
            assert fast is not None and fast == _parse_full(body), body
            assert parse_fields(body.encode("utf-8")) == fast
        assert crypto.decrypt(parse_fields(envelope.encode("utf-8"))["Encrypt"]) == push
