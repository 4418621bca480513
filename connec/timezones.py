"""A person's time zone from their own words: "Europe/Berlin", "Berlin", "New York", "Nuuk".

People abroad (volunteers on exchange, citizens wintering in Spain) read every
booking, reminder and calendar file on their own clock. They name the zone as they
would say it: an IANA name, or a city the zone is named after (the last part of
the name, spaces for underscores), or a few places Danes often name in Danish.
Pure: no database, no network.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from connec.spelling import fold

DEFAULT_ZONE = "Europe/Copenhagen"

# Places named in Danish (or without a city) whose zone people mean.
DANISH_NAMES = {
    fold(name): zone
    for name, zone in (
        ("Danmark", "Europe/Copenhagen"),
        ("København", "Europe/Copenhagen"),
        ("Grønland", "America/Nuuk"),
        ("Færøerne", "Atlantic/Faroe"),
        ("Tórshavn", "Atlantic/Faroe"),
        ("Spanien", "Europe/Madrid"),
        ("Malaga", "Europe/Madrid"),
        ("Mallorca", "Europe/Madrid"),
        ("Tyskland", "Europe/Berlin"),
        ("Sverige", "Europe/Stockholm"),
        ("Norge", "Europe/Oslo"),
        ("England", "Europe/London"),
        ("Storbritannien", "Europe/London"),
        ("Frankrig", "Europe/Paris"),
        ("Italien", "Europe/Rome"),
        ("Grækenland", "Europe/Athens"),
        ("Tyrkiet", "Europe/Istanbul"),
        ("Thailand", "Asia/Bangkok"),
        ("Japan", "Asia/Tokyo"),
        ("Kina", "Asia/Shanghai"),
        ("Indien", "Asia/Kolkata"),
        ("New Zealand", "Pacific/Auckland"),
    )
}


@cache
def _by_words() -> dict[str, str]:
    """Every zone by its folded full name and by its city, e.g. "new york"."""
    found: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if zone.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in zone:
            continue
        found[fold(zone)] = zone
        city = fold(zone.rsplit("/", 1)[1].replace("_", " "))
        found.setdefault(city, zone)
    found.update(DANISH_NAMES)
    return found


def zone_from_words(text: str) -> str | None:
    """The IANA zone a person means, or None when the words name none."""
    words = fold(" ".join(text.strip().strip(".!?").split()))
    if not words:
        return None
    known = _by_words()
    return (
        known.get(words) or known.get(words.replace(" ", "_")) or known.get(words.replace("_", " "))
    )
