"""Forming circles: a host and 2-7 people who share the topic, a language and a time."""

from __future__ import annotations

from bots.matchmaker.circle_forming import (
    MAX_MEMBERS,
    MIN_MEMBERS,
    Host,
    form_circles,
    hosts_from_interests,
)
from bots.matchmaker.population import population
from bots.matchmaker.scoring import Profile, interest_weights
from connec.interests import interests_from_keys, understand_interests

YEAR = 2025


def person(pid: int, *keys: str, words: tuple[str, ...] = (), **values: object) -> Profile:
    interests = interests_from_keys(keys) | understand_interests(list(words))
    return Profile(person_id=pid, role="citizen", interests=interests, **values)  # type: ignore[arg-type]


def host(pid: int, *keys: str, words: str = "", **values: object) -> Host:
    topic = understand_interests([words]) if words else interests_from_keys(keys)
    profile = Profile(person_id=pid, role="volunteer", interests=topic, **values)  # type: ignore[arg-type]
    return Host(profile, topic, words or keys[0])


def test_people_who_share_the_topic_are_grouped_with_its_host() -> None:
    gardeners = [person(i, "gardening") for i in range(1, 5)]
    readers = [person(i, "knitting") for i in range(5, 8)]
    hosts = [host(100, "gardening"), host(101, "knitting")]
    formed = form_circles(
        gardeners + readers, hosts, interest_weights(gardeners + readers), year=YEAR
    )
    by_host = {c.host_id: set(c.member_ids) for c in formed.circles}
    assert by_host == {100: {1, 2, 3, 4}, 101: {5, 6, 7}}
    assert formed.placed == 7


def test_own_words_count_as_a_shared_topic() -> None:
    members = [person(i, words=("Morris Minor biler",)) for i in range(1, 4)]
    formed = form_circles(
        members, [host(9, words="gamle Morris Minor")], interest_weights(members), year=YEAR
    )
    assert [set(c.member_ids) for c in formed.circles] == [{1, 2, 3}]


def test_nobody_is_put_where_they_do_not_fit() -> None:
    members = [
        person(1, "gardening"),
        person(2, "gardening"),
        person(3, "gardening", languages=frozenset({"ar"})),  # not the circle's language
        person(4, "jazz"),  # not the topic
        person(5, "gardening", availability=frozenset({"sat-am"})),  # not the circle's time
    ]
    hosts = [host(100, "gardening", availability=frozenset({"tue-am"}))]
    formed = form_circles(members, hosts, interest_weights(members), year=YEAR)
    assert [set(c.member_ids) for c in formed.circles] == [{1, 2}]
    assert formed.circles[0].slot == "tue-am"


def test_too_few_make_no_circle_and_too_many_make_two() -> None:
    lonely = [person(1, "gardening")]
    assert (
        form_circles(lonely, [host(100, "gardening")], interest_weights(lonely), year=YEAR).circles
        == ()
    )
    many = [person(i, "gardening") for i in range(1, 12)]
    hosts = [host(100, "gardening"), host(101, "gardening")]
    formed = form_circles(many, hosts, interest_weights(many), year=YEAR)
    sizes = sorted(len(c.member_ids) for c in formed.circles)
    assert len(sizes) == 2 and all(MIN_MEMBERS <= s <= MAX_MEMBERS for s in sizes)
    assert sum(sizes) == 11
    everyone = [m for c in formed.circles for m in c.member_ids]
    assert len(everyone) == len(set(everyone))


def test_a_made_up_town_is_formed_within_bounds_and_cp_sat_never_does_worse() -> None:
    people = population(300, today_year=YEAR)
    members = [p for p in people if p.role == "citizen"]
    hosts = hosts_from_interests(p for p in people if p.role == "volunteer")
    formed = form_circles(members, hosts, interest_weights(people), year=YEAR, time_limit_s=5)
    assert formed.circles
    assert formed.objective >= formed.greedy_objective
    hosts_used = [c.host_id for c in formed.circles]
    assert len(hosts_used) == len(set(hosts_used))  # capacity one circle each
    for circle in formed.circles:
        assert MIN_MEMBERS <= len(circle.member_ids) <= MAX_MEMBERS
        chosen = next(h for h in hosts if h.profile.person_id == circle.host_id)
        assert circle.language == chosen.language
        for member_id in circle.member_ids:
            member = members[member_id - 1]
            assert circle.language in member.languages
            assert (
                circle.slot is None or not member.availability or circle.slot in member.availability
            )


def test_a_circle_is_ready_with_the_host_and_two_members_and_lost_without_them() -> None:
    from bots.matchmaker.circles import possible, ready

    assert not ready([("host", "yes"), ("member", "yes"), ("member", "asked")])
    assert ready([("host", "yes"), ("member", "yes"), ("member", "yes"), ("member", "no")])
    assert not ready([("host", "asked"), ("member", "yes"), ("member", "yes")])
    assert possible([("host", "asked"), ("member", "yes"), ("member", "asked")])
    assert not possible([("host", "no"), ("member", "yes"), ("member", "yes")])
    assert not possible([("host", "yes"), ("member", "yes"), ("member", "no"), ("member", "no")])
