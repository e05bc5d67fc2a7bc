"""Finding an activity as residents look for one (issue 20 item 16): by words they remember, and
nearest first when their phone tells where they stand."""

from __future__ import annotations

import uuid

import pytest
from test_activities import create

# 宁波 天一广场 and places around it, with their distance from it as the crow flies.
HERE = (29.8683, 121.5440)


def published(city, **overrides) -> dict:
    """A published activity of 富春社区."""
    made = create(city, **overrides)
    answer = city.call("POST", f"/api/v1/activities/{made['id']}/publish", "organizer")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return made


def found(city, query: str) -> list[dict]:
    answer = city.call("GET", f"/api/v1/activities?per_page=100&{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["items"]


def test_words_find_activities_by_title_description_or_address_in_any_case(city):
    tag = uuid.uuid4().hex[:8]  # this test's own word, so the demo city's activities stay out
    tai_chi = published(city, title=f"Tai Chi 晨练 {tag}", description="", address="")
    dumplings = published(
        city, title=f"邻里节 {tag}", description="一起包饺子", address="富春社区文化家园"
    )
    legal = published(
        city, title=f"法律援助 {tag}", description="", address="北仑区 Mingzhou 路 8 号"
    )
    # 100% 报名 is a word too: % and _ are letters here, not wildcards.
    percent = published(city, title=f"100% 报名 {tag}", description="", address="")

    def ids(words: str) -> set[str]:
        return {a["id"] for a in found(city, f"q={words}")}

    assert ids(tag) == {tai_chi["id"], dumplings["id"], legal["id"], percent["id"]}
    assert ids(f"TAI+chi+{tag}") == {tai_chi["id"]}  # every word, in any case
    assert ids(f"饺子+{tag}") == {dumplings["id"]}  # in the description
    assert ids(f"文化家园+{tag}") == {dumplings["id"]}  # in the address
    assert ids(f"mingZHOU+{tag}") == {legal["id"]}
    assert ids(f"100%25+{tag}") == {percent["id"]}
    assert ids(f"1_0+{tag}") == set()
    assert ids(f"游泳+{tag}") == set()
    assert ids("%20%20") >= {tai_chi["id"]}  # only spaces: no words, no filter


def test_near_me_lists_the_nearest_first_with_distances_and_those_without_a_place_last(city):
    tag = uuid.uuid4().hex[:8]
    far = published(city, title=f"远 {tag}", latitude="29.9000", longitude="121.5440")
    unplaced = published(city, title=f"未定地点 {tag}")
    near = published(city, title=f"近 {tag}", latitude="29.8700", longitude="121.5440")
    middle = published(city, title=f"中 {tag}", latitude="29.8683", longitude="121.5640")

    items = found(city, f"q={tag}&near={HERE[0]},{HERE[1]}")
    assert [a["id"] for a in items] == [near["id"], middle["id"], far["id"], unplaced["id"]]
    distances = [a["distance_m"] for a in items]
    # 0.0017° of latitude is 189 m; 0.02° of longitude at 29.87° N is 1,928 m; 0.0317° is 3,525 m.
    assert distances[:3] == [
        pytest.approx(189, abs=2),
        pytest.approx(1928, abs=5),
        pytest.approx(3525, abs=5),
    ]
    assert all(isinstance(d, int) for d in distances[:3])
    assert distances[3] is None
    # Without near, the soonest first as before, and no distances.
    assert all("distance_m" not in a for a in found(city, f"q={tag}"))


@pytest.mark.parametrize(
    "near",
    [
        "here",
        "29.87",
        "29.87,121.54,3",
        "91,121",
        "29.87,-180.5",
        "nan,121",
        "1e400,0",
        ",",
        "29.87;121.54",
    ],
)
def test_a_place_that_is_not_latitude_comma_longitude_is_refused_with_a_message(city, near):
    answer = city.call("GET", f"/api/v1/activities?near={near}")
    assert answer.status_code == 422, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    [message] = body["errors"]["query"]["near"]
    assert "纬度" in message and "经度" in message
