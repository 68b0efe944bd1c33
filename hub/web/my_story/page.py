"""The "My story" pages as server-rendered HTML on NHS.UK frontend: no script needed to read or to change.

Pure: a read model (hub.read.my_story) and the words (words.yaml) in, a page out. Every value is escaped.
Forms post back to the hub with the session's CSRF token and are answered with a redirect or a page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from html import escape
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from hub.read.my_story import NO, PARENT, YES, MyStory
from hub.read.my_story import words as story_words
from hub.web.nhsuk_assets import HEAD

LONDON = ZoneInfo("Europe/London")
CSS = "/my-story/style.css"


@cache
def w() -> dict[str, Any]:
    text = resources.files("hub.web.my_story").joinpath("words.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def stylesheet() -> str:
    return resources.files("hub.web.my_story").joinpath("style.css").read_text(encoding="utf-8")


def _cap(text: str) -> str:
    """First letter up, the rest as written ("your GP" → "Your GP")."""
    return text[:1].upper() + text[1:]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _page(title: str, body: str, signed_in_csrf: str | None = None) -> str:
    sign_out = (
        f'<form method="post" action="/my-story/sign-out" class="my-story-sign-out">'
        f'<input type="hidden" name="csrf" value="{_e(signed_in_csrf)}">'
        f'<button class="nhsuk-button nhsuk-button--secondary" type="submit">'
        f"{_e(w()['story']['sign_out'])}</button></form>"
        if signed_in_csrf
        else ""
    )
    return f"""<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} – {_e(w()["service"])}</title>
{HEAD}
<link rel="stylesheet" href="{CSS}">
</head>
<body>
<a class="nhsuk-skip-link" href="#main">Skip to main content</a>
<header class="nhsuk-header" role="banner">
  <div class="nhsuk-header__container nhsuk-width-container">
    <div class="nhsuk-header__service">
      <a class="nhsuk-header__service-name" href="/my-story">{_e(w()["service"])}</a>
    </div>
  </div>
</header>
<div class="nhsuk-width-container">
<main class="nhsuk-main-wrapper" id="main">
<h1 class="nhsuk-heading-l">{_e(title)}</h1>
<div class="nhsuk-inset-text"><p>{_e(w()["help_now"])}</p></div>
{body}
{sign_out}
</main>
</div>
</body>
</html>
"""


def sign_in_page(pre_csrf: str, problem: str | None = None, code: str = "") -> str:
    s = w()["sign_in"]
    error = ""
    code_error = ""
    if problem:
        error = (
            f'<div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1">'
            f'<h2 class="nhsuk-error-summary__title" id="error-summary-title">{_e(s["problem"])}</h2>'
            f'<div class="nhsuk-error-summary__body"><ul class="nhsuk-list nhsuk-error-summary__list">'
            f'<li><a href="#code">{_e(s[problem])}</a></li></ul></div></div>'
        )
        code_error = f'<span class="nhsuk-error-message" id="code-error">{_e(s[problem])}</span>'
    group = "nhsuk-form-group nhsuk-form-group--error" if problem else "nhsuk-form-group"
    described = "code-hint code-error" if problem else "code-hint"

    def part(name: str, label: str, width: int) -> str:
        return (
            f'<div class="nhsuk-date-input__item"><div class="nhsuk-form-group">'
            f'<label class="nhsuk-label nhsuk-date-input__label" for="born-{name}">{_e(label)}</label>'
            f'<input class="nhsuk-input nhsuk-date-input__input nhsuk-input--width-{width}" id="born-{name}" '
            f'name="{name}" type="text" inputmode="numeric" autocomplete="off"></div></div>'
        )

    date_parts = part("day", s["day"], 2) + part("month", s["month"], 2) + part("year", s["year"], 4)
    body = f"""{error}
<p>{_e(s["intro"])}</p>
<form method="post" action="/my-story/sign-in" novalidate>
<input type="hidden" name="csrf" value="{_e(pre_csrf)}">
<div class="{group}">
  <label class="nhsuk-label nhsuk-label--s" for="code">{_e(s["code"])}</label>
  <div class="nhsuk-hint" id="code-hint">{_e(s["code_hint"])}</div>
  {code_error}
  <input class="nhsuk-input nhsuk-input--width-20" id="code" name="code" type="text" autocomplete="off"
    spellcheck="false" autocapitalize="characters" aria-describedby="{described}" value="{_e(code)}">
</div>
<div class="nhsuk-form-group">
<fieldset class="nhsuk-fieldset" role="group" aria-describedby="born-hint">
  <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">{_e(s["born"])}</legend>
  <div class="nhsuk-hint" id="born-hint">{_e(s["born_hint"])}</div>
  <div class="nhsuk-date-input">{date_parts}</div>
</fieldset>
</div>
<button class="nhsuk-button" type="submit">{_e(s["button"])}</button>
</form>
<p>{_e(s["parent_note"])}</p>"""
    return _page(s["title"], body)


def _summary_list(rows: Iterable[tuple[str, str]]) -> str:
    items = "".join(
        f'<div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">{_e(k)}</dt>'
        f'<dd class="nhsuk-summary-list__value">{_e(v)}</dd></div>'
        for k, v in rows
    )
    return f'<dl class="nhsuk-summary-list">{items}</dl>'


def _section(key: str, title: str, inner: str) -> str:
    heading = f'<h2 class="nhsuk-heading-m" id="{key}-title">{_e(title)}</h2>'
    return f'<section id="{key}" aria-labelledby="{key}-title">{heading}{inner}</section>'


def _team(story: MyStory) -> str:
    t = w()["team"]
    if not story.team:
        inner = f"<p>{_e(t['none'])}</p>"
    else:
        cards = "".join(
            f'<li class="nhsuk-card"><div class="nhsuk-card__content">'
            f'<h3 class="nhsuk-card__heading nhsuk-heading-s">{_e(m.name)}</h3>'
            f'<p class="nhsuk-card__description">{_e(_cap(m.what))}. Contact: {_e(m.contact)}</p></div></li>'
            for m in story.team
        )
        inner = f'<ul class="nhsuk-list my-story-cards">{cards}</ul><p>{_e(t["ask"])}</p>'
    title = t["parent_title"] if story.holder == PARENT else t["title"]
    return _section("team", title, inner)


def _sharing(story: MyStory) -> str:
    s = w()["sharing"]
    parts = [f"<p>{_e(s['intro'])}</p>"]
    for item in story.sharing:
        rows = _summary_list(item.seen_by) if item.seen_by else f"<p>{_e(s['none'])}</p>"
        parts.append(
            f'<div class="nhsuk-card" id="sharing-{_e(item.kind)}"><div class="nhsuk-card__content">'
            f'<h3 class="nhsuk-card__heading nhsuk-heading-s">{_e(item.name)}</h3>'
            f'<p class="nhsuk-card__description">{_e(_cap(item.says))}.</p>{rows}</div></div>'
        )
    return _section("sharing", s["title"], "".join(parts))


def _when(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def _looked(story: MyStory) -> str:
    s = w()["looked"]
    if not story.looked:
        return _section("looked", s["title"], f"<p>{_e(s['intro'])}</p><p>{_e(s['none'])}</p>")
    rows = [
        (
            _when(look.at),
            f"{_cap(look.who)} at {look.where}" + (f" ({s['emergency']})" if look.emergency else ""),
        )
        for look in story.looked
    ]
    return _section("looked", s["title"], f"<p>{_e(s['intro'])}</p>{_summary_list(rows)}")


def _words(story: MyStory) -> str:
    s = w()["words"]
    if not story.words:
        return _section("words", s["title"], f"<p>{_e(s['none'])}</p>")
    quotes = "".join(f'<blockquote class="my-story-quote"><p>{_e(t)}</p></blockquote>' for t in story.words)
    return _section("words", s["title"], f"<p>{_e(s['intro'])}</p>{quotes}")


def _choices(story: MyStory, csrf: str, may_change: bool) -> str:
    c = w()["choices"]
    name = story.given_name or "your child"
    if story.holder == PARENT:
        lead = c["parent_counts"] if may_change else c["parent_not"]
    else:
        lead = c["counts"] if story.competent else c["not_yet"]
    lead = lead.format(name=name)
    if not may_change:
        return _section("choices", c["title"], f"<p>{_e(lead)}</p>")
    groups = []
    info = story_words().information
    answers = [(YES, c["answer_yes"]), (NO, c["answer_no"])]
    for org_kind, org in story_words().organisations.items():
        radios = [
            _radios(
                f"{org_kind}.{info_kind}", answers, kind["name"], story.choices.get((org_kind, info_kind)), inline=True
            )
            for info_kind, kind in info.items()
        ]
        groups.append(
            f'<div class="nhsuk-card" id="choose-{_e(org_kind)}"><div class="nhsuk-card__content">'
            f'<h3 class="nhsuk-card__heading nhsuk-heading-s">{_e(org["name"])}</h3>'
            f'<p class="nhsuk-card__description">{_e(c["question"])}</p>{"".join(radios)}</div></div>'
        )
    form = (
        f'<form method="post" action="/my-story/check" novalidate><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'{"".join(groups)}<button class="nhsuk-button" type="submit">{_e(c["button"])}</button></form>'
    )
    return _section("choices", c["title"], f"<p>{_e(lead)}</p>{form}")


def _radios(name: str, options: list[tuple[str, str]], legend: str, chosen: str | None, inline: bool = False) -> str:
    items = "".join(
        f'<div class="nhsuk-radios__item"><input class="nhsuk-radios__input" id="{name}-{_e(value)}" name="{name}" '
        f'type="radio" value="{_e(value)}"{" checked" if value == chosen else ""}>'
        f'<label class="nhsuk-label nhsuk-radios__label" for="{name}-{_e(value)}">{_e(label)}</label></div>'
        for value, label in options
    )
    return (
        f'<div class="nhsuk-form-group"><fieldset class="nhsuk-fieldset">'
        f'<legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">{_e(legend)}</legend>'
        f'<div class="nhsuk-radios{" nhsuk-radios--inline" if inline else ""}">{items}</div></fieldset></div>'
    )


def _ask(story: MyStory, csrf: str, problem: str | None, draft: Mapping[str, str]) -> str:
    """A question or a correction for one organisation in the team; plain form, no script."""
    a = w()["ask"]
    if not story.team:
        return ""
    error = ""
    if problem:
        error = (
            f'<div class="nhsuk-error-summary" id="ask-problem" aria-labelledby="ask-problem-title" role="alert" '
            f'tabindex="-1"><h3 class="nhsuk-error-summary__title" id="ask-problem-title">'
            f'{_e(w()["sign_in"]["problem"])}</h3><div class="nhsuk-error-summary__body"><p>{_e(a[problem])}</p>'
            "</div></div>"
        )
    who = _radios("to", [(m.code, m.name) for m in story.team if m.code], a["who"], draft.get("to"))
    what = _radios(
        "about", [("question", a["question"]), ("correction", a["correction"])], a["what"], draft.get("about")
    )
    text = (
        '<div class="nhsuk-form-group">'
        f'<label class="nhsuk-label nhsuk-label--s" for="ask-text">{_e(a["text"])}</label>'
        f'<div class="nhsuk-hint" id="ask-text-hint">{_e(a["text_hint"])}</div>'
        f'<textarea class="nhsuk-textarea" id="ask-text" name="text" rows="5" aria-describedby="ask-text-hint">'
        f"{_e(draft.get('text', ''))}</textarea></div>"
    )
    form = (
        f'<form method="post" action="/my-story/ask" novalidate><input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'{who}{what}{text}<button class="nhsuk-button" type="submit">{_e(a["button"])}</button></form>'
    )
    return _section("ask", a["title"], f"{error}<p>{_e(a['intro'])}</p>{form}")


def story_page(
    story: MyStory,
    csrf: str,
    may_change: bool,
    saved: bool = False,
    sent_to: str | None = None,
    ask_problem: str | None = None,
    draft: Mapping[str, str] | None = None,
) -> str:
    s = w()["story"]
    name = story.given_name or ""
    top = []
    if saved:
        top.append(f'<div class="nhsuk-inset-text" id="saved" role="status"><p>{_e(s["saved"])}</p></div>')
    if sent_to:
        sent = w()["ask"]["sent"].format(org=sent_to)
        top.append(f'<div class="nhsuk-inset-text" id="sent" role="status"><p>{_e(sent)}</p></div>')
    if story.updating:
        top.append(f'<p class="my-story-updating">{_e(s["updating"])}</p>')
    if story.holder == PARENT:
        top.append(f"<p>{_e(s['parent_intro'].format(name=name or 'your child'))}</p>")
        top.append(f"<p>{_e(s['parent_private'].format(name=name or 'Your child'))}</p>")
    else:
        top.append(f"<p>{_e(s['intro'])}</p>")
    render = {
        "team": lambda: _team(story),
        "sharing": lambda: _sharing(story),
        "looked": lambda: _looked(story),
        "words": lambda: _words(story),
        "choices": lambda: _choices(story, csrf, may_change),
        "ask": lambda: _ask(story, csrf, ask_problem, draft or {}),
    }
    sections = "".join(render[k]() for k in story.sections if k in render)
    title = s["hello"].format(name=name) if name and story.holder != PARENT else s["hello_nameless"]
    return _page(title, "".join(top) + sections, csrf)


def check_page(planned: list[dict[str, Any]], csrf: str, contact: str | None) -> str:
    """What a change will and will not do, before it is saved: a safeguarding basis is not undone by a no."""
    c = w()["check"]
    orgs, info = story_words().organisations, story_words().information
    if not planned:
        back = f'<p><a class="nhsuk-link" href="/my-story#choices">{_e(c["back"])}</a></p>'
        body = f"<p>{_e(w()['choices']['nothing'])}</p>{back}"
        return _page(c["title"], body, csrf)
    lines = "".join(
        "<li>"
        + _e(
            c["will_yes" if p["status"] == "given" else "will_no"].format(
                org=orgs[p["cell"][0]]["name"], info=info[p["cell"][1]]["name"].lower()
            )
        )
        + "</li>"
        for p in planned
    )
    talk = c["talk"].format(contact=contact) if contact else c["talk_anyone"]
    hidden = "".join(
        f'<input type="hidden" name="{_e(p["cell"][0])}.{_e(p["cell"][1])}" '
        f'value="{YES if p["status"] == "given" else NO}">'
        for p in planned
    )
    body = f"""<h2 class="nhsuk-heading-m">{_e(c["will"])}</h2>
<ul class="nhsuk-list nhsuk-list--bullet" id="will">{lines}</ul>
<div class="nhsuk-warning-callout" id="wont">
  <h2 class="nhsuk-warning-callout__label">{_e(c["wont"])}</h2>
  <p>{_e(c["own"])}</p>
  <p>{_e(c["safety"])}</p>
  <p>{_e(talk)}</p>
</div>
<form method="post" action="/my-story/choices" novalidate>
<input type="hidden" name="csrf" value="{_e(csrf)}">{hidden}
<button class="nhsuk-button" type="submit">{_e(c["button"])}</button>
</form>
<p><a class="nhsuk-link" href="/my-story#choices">{_e(c["back"])}</a></p>"""
    return _page(c["title"], body, csrf)


def signed_out_page() -> str:
    s = w()["signed_out"]
    body = f'<p>{_e(s["body"])}</p><p><a class="nhsuk-link" href="/my-story">{_e(s["again"])}</a></p>'
    return _page(s["title"], body)
