"""Writes a Catalog back as content-pack files (the inverse of posts/loader.py): `wxbot content export DIR`.

What operators wrote in the console lives in the database (posts/revisions.py); exporting the live catalog puts
it into files that git can keep and `wxbot content check` reads, and loading the written folder gives the same
catalog back (the round trip is tested). The menu is not content in the database: it is copied from the pack
folder the settings name.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from posts.catalog import Catalog, Review, Section, Text, Therapy, Update
from posts.loader import URGENT_FILE
from posts.menu import MENU_FILE


class _Dumper(yaml.SafeDumper):
    """Block style, Unicode kept, multi-line strings as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(tuple, lambda d, v: d.represent_list(list(v)))


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000)


def _review(review: Review | None) -> dict[str, Any]:
    if review is None:
        return {}
    return {"reviewed_by": review.reviewed_by, "reviewed_on": review.reviewed_on, "next_review": review.next_review}


def _markdown(front: dict[str, Any], body: str) -> str:
    return f"---\n{dump(front)}---\n{body.strip(chr(10))}\n"


def _drop_empty(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if not (k in names and v in (None, "", (), [], {}, False))}


def section_file(section: Section) -> tuple[str, str]:
    front = _drop_empty(
        {
            "key": section.key,
            "order": section.order,
            "title": section.title,
            "summary": section.summary,
            "sources": list(section.sources),
            "updated": section.updated,
            "therapy": section.therapy,
            "body_from": section.body_from,
            **_review(section.review),
        },
        "therapy",
        "body_from",
    )
    return f"{section.part}/{section.order:02d}-{section.key}.md", _markdown(front, section.body)


def therapy_file(therapy: Therapy) -> tuple[str, str]:
    milestones = [
        _drop_empty({"date": m.date, "event": m.event, "source": m.source, "secondary": m.secondary}, "secondary")
        for m in therapy.milestones
    ]
    front = {
        "key": therapy.key,
        "name": therapy.name,
        "aliases": list(therapy.aliases),
        "developer": therapy.developer,
        "country": therapy.country,
        "cell_type": therapy.cell_type,
        "cell_source": therapy.cell_source,
        "phase": therapy.phase,
        "design": therapy.design,
        "enrolment": therapy.enrolment,
        "endpoints": list(therapy.endpoints),
        "status": therapy.status,
        "status_date": therapy.status_date,
        "section": therapy.section,
        "sources": list(therapy.sources),
        "milestones": milestones,
        **_review(therapy.review),
    }
    return f"therapies/{therapy.key}.md", _markdown(front, therapy.body)


def update_front(update: Update) -> dict[str, Any]:
    return {
        "therapy": update.therapy,
        "date": update.date,
        "title": update.title,
        "source": update.source,
        "sources": list(update.sources),
        **_review(update.review),
    }


def update_file(update: Update) -> tuple[str, str]:
    return f"updates/{update.therapy}/{update.key}.md", _markdown(update_front(update), update.body)


def text_file(text: Text, path: str) -> tuple[str, str]:
    front = _drop_empty({"key": text.key, "title": text.title, "short": text.short, **_review(text.review)}, "short")
    return path, _markdown(front, text.body)


def pack_files(catalog: Catalog) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every file of the pack ``catalog`` was loaded from (the menu aside)."""
    refs = [
        _drop_empty(
            {
                "id": r.id,
                "title": r.title,
                "publisher": r.publisher,
                "date": r.date,
                "url": r.url,
                "kind": r.kind,
                "secondary": r.secondary,
            },
            "kind",
            "secondary",
        )
        for r in sorted(catalog.references.values(), key=lambda r: r.id)
    ]
    yield "references.yaml", dump(refs)
    for section in catalog.sections:
        yield section_file(section)
    for therapy in catalog.therapies.values():
        yield therapy_file(therapy)
        for update in therapy.updates:
            yield update_file(update)
    for welcome in catalog.welcomes.values():
        yield text_file(welcome, f"welcome/{welcome.key}.md")
    if catalog.help is not None:
        yield text_file(catalog.help, "help.md")
    if catalog.disclaimer is not None:
        yield text_file(catalog.disclaimer, "disclaimer.md")
    scenes = [
        _drop_empty(
            {"key": s.key, "purpose": s.purpose, "welcome": s.welcome, "therapy": s.therapy, "script": s.script},
            "therapy",
            "script",
        )
        for s in catalog.scenes.values()
    ]
    yield "scenes.yaml", dump(scenes)
    rules = [
        _drop_empty(
            {
                "key": r.key,
                "match": r.match,
                "patterns": list(r.patterns),
                "reply": r.reply,
                "ref": r.ref,
                "command": r.command,
            },
            "key",
            "patterns",
            "reply",
            "ref",
            "command",
        )
        for r in (*catalog.commands, *catalog.keywords)
    ]
    yield "keywords.yaml", dump(rules)
    script = catalog.script
    terms = [{"simplified": t.simplified, "traditional": t.traditional} for t in script.terms]
    yield "script.yaml", dump(_drop_empty({"keep": list(script.keep), "terms": terms}, "keep", "terms") or {})
    if catalog.questions is not None:
        q = catalog.questions
        intents = [
            _drop_empty(
                {
                    "key": i.key,
                    "ref": i.ref,
                    "label": i.label,
                    "word": i.word,
                    "questions": list(i.questions),
                    "cues": {c.term: c.weight for c in i.cues},
                    "negated": "" if i.negated == "same" else i.negated,
                    "yields": i.yields,
                },
                "questions",
                "cues",
                "negated",
                "yields",
            )
            for i in q.intents
        ]
        front = _drop_empty(
            {
                "answer_at": q.answer_at,
                "suggest_at": q.suggest_at,
                "name_weight": q.name_weight,
                "fillers": list(q.fillers),
                "negations": list(q.negations),
                "hold": list(q.hold),
                "intents": intents,
            },
            "fillers",
            "negations",
            "hold",
        )
        yield "questions.yaml", dump(front)


def export_pack(catalog: Catalog, target: Path, menu_from: Path | None = None) -> list[str]:
    """Write the pack of ``catalog`` into the folder ``target`` (made if missing; files of the pack replaced, other
    files left alone); ``menu_from``: the pack folder whose menu.yaml and urgent.yaml (neither is written in the
    console) are copied. The written paths, sorted."""
    target = Path(target)
    written = []
    for rel, text in pack_files(catalog):
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(rel)
    for name in (MENU_FILE, URGENT_FILE):
        if menu_from is not None and (Path(menu_from) / name).is_file():
            if (Path(menu_from) / name).resolve() != (target / name).resolve():
                shutil.copyfile(Path(menu_from) / name, target / name)
            written.append(name)
    return sorted(written)
