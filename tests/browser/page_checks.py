"""What every page must be, checked in the browser: it fits a 390 px phone, no template
placeholder is left unfilled, its text meets WCAG AA contrast and every field has a label (axe-core), its buttons and
fields are big enough to tap (44 px), and an English page shows no Chinese interface text (and the
reverse).

Each check returns the problems it found on the open page, as short lines naming the page, so
one walk through every page can report them all at once.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel.messages.pofile import read_po
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
CATALOG = ROOT / "web" / "translations" / "en.po"
TAP = 44  # px: the smallest button or field a finger hits reliably (WCAG 2.5.5, Apple, Android)
CJK = re.compile(r"[\u4e00-\u9fff]")

# Text of the page, one string a visible text node, script-free (evaluate runs outside the CSP).
_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !parent || parent.closest('script,style,noscript,[hidden],.visually-hidden')) continue;
    const box = parent.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    out.push(text);
  }
  return out;
}"""

_SMALL_TARGETS = """(least) => {
  const hits = 'button, a.button, .tabs a, nav a, select, textarea,'
    + ' input:not([type=hidden]):not([type=checkbox]):not([type=radio])';
  const out = [];
  for (const el of document.querySelectorAll(hits)) {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (box.width === 0 || style.visibility === 'hidden' || el.closest('[hidden]')) continue;
    if (el.matches('button.link:not(.danger)') && el.closest('p')) continue;  // a link inside a sentence
    if (box.height < least - 0.5 || box.width < least - 0.5) {
      const name = (el.innerText || el.value || el.name || el.tagName).trim().slice(0, 20);
      out.push(`${el.tagName.toLowerCase()} "${name}" ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  for (const box of document.querySelectorAll('input[type=checkbox], input[type=radio]')) {
    const label = box.closest('label') || document.querySelector(`label[for="${box.id}"]`);
    const size = (label || box).getBoundingClientRect();
    if (size.width > 0 && size.height < least - 0.5) out.push(`${box.type} "${box.name}" ${Math.round(size.height)} high`);
  }
  return out;
}"""


def overflow(page: Page) -> list[str]:
    """The page is wider than the screen (it scrolls sideways). A phone browser widens its layout
    viewport (and ``innerWidth``) to fit a too-wide page, so the screen is the context's viewport."""
    wide = page.evaluate("() => document.documentElement.scrollWidth") - page.viewport_size["width"]
    return [f"{_where(page)}: {wide} px wider than the screen"] if wide > 1 else []


def placeholders(page: Page) -> list[str]:
    """A message shown with its placeholder unfilled, e.g. "已确认 {hours} 小时"."""
    unfilled = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]")
    return [f"{_where(page)}: {t!r}" for t in page.evaluate(_TEXTS) if unfilled.search(t)]


def accessibility(page: Page) -> list[str]:
    """Text below WCAG AA contrast and fields without a label (a screen reader, or a volunteer
    looking at one box of a table on a phone, cannot tell what goes in them), as axe-core
    finds them in the rendered page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => (await axe.run(document, {runOnly: ['color-contrast', 'label']})).violations
             .flatMap(v => v.nodes.map(n => n.target.join(' ') + ': ' + n.any.map(a => a.message).join(' ')))"""
    )
    return [f"{_where(page)}: {line}" for line in found]


def small_targets(page: Page) -> list[str]:
    """Buttons, links styled as buttons and fields smaller than a finger (on phone pages)."""
    return [f"{_where(page)}: {line}" for line in page.evaluate(_SMALL_TARGETS, TAP)]


def wrong_language(page: Page, locale: str) -> list[str]:
    """Interface text in the other language: on an English page a text that is one of the
    catalog's Chinese messages (and has Chinese in it); on a Chinese page one of its English
    translations. Data (names, titles) is neither, so it passes."""
    chinese, english = _catalog()
    wrong = english if locale == "zh" else chinese
    return [f"{_where(page)}: {t!r}" for t in page.evaluate(_TEXTS) if t in wrong]


@functools.cache
def _catalog() -> tuple[frozenset[str], frozenset[str]]:
    with CATALOG.open("rb") as po:
        catalog = read_po(po)
    chinese, english = set(), set()
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        if CJK.search(message.id) and "{" not in message.id:
            chinese.add(message.id)
        translated = str(message.string)
        if not CJK.search(translated) and "{" not in translated and len(translated) > 3:
            english.add(translated)
    return frozenset(chinese), frozenset(english - chinese)


def _where(page: Page) -> str:
    """The open page's path and query, for the report."""
    rest = page.url.split("//", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
