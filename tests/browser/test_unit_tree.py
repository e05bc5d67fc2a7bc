"""The unit tree on /admin/units reads as a tree on a phone: each unit is drawn one step further
right than the unit it belongs to, its marker with it, and units of one depth line up."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Each unit of the tree: its depth, the left edge of its box (where its marker or guide is
# drawn) and of its name, in px.
_UNITS = """() => [...document.querySelectorAll('.tree li')].map(li => {
  const name = document.createRange();
  name.selectNodeContents(li.firstChild);
  const marker = getComputedStyle(li).listStyleType;
  return {
    depth: Number(/depth-(\\d+)/.exec(li.className)[1]),
    text: li.textContent.trim(),
    box: li.getBoundingClientRect().left,
    name: name.getBoundingClientRect().left,
    marker,
  };
})"""


def test_the_unit_tree_is_indented_by_depth_on_a_phone(phone, shoot):
    phone.goto("/login?lang=zh")
    phone.get_by_label("手机号或用户名").fill("admin")
    phone.get_by_label("密码", exact=True).fill("shiliu2026")
    phone.get_by_role("button", name="登录", exact=True).click()
    expect(phone.get_by_role("status")).to_have_text("已登录")
    phone.goto("/admin/units")
    units = phone.evaluate(_UNITS)
    shoot(phone, "unit-tree")
    assert {u["depth"] for u in units} >= {0, 1, 2, 3}, units
    # A marker left in the page margin would not move with its unit: none, or it moves.
    assert {u["marker"] for u in units} == {"none"}, units
    # The box (its guide line) and the name move right together, one step per depth.
    gaps = [u["name"] - u["box"] for u in units]
    assert max(gaps) - min(gaps) < 1, units
    by_depth: dict[int, list[float]] = {}
    for unit in units:
        by_depth.setdefault(unit["depth"], []).append(unit["box"])
    assert all(max(v) - min(v) < 1 for v in by_depth.values()), by_depth  # one depth, one edge
    edges = [by_depth[depth][0] for depth in sorted(by_depth)]
    steps = [b - a for a, b in zip(edges, edges[1:], strict=False)]
    assert min(steps) >= 12 and max(steps) - min(steps) < 1, edges  # an even, visible step
