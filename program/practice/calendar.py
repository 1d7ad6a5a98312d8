"""The private practice calendar (.ics, RFC 5545): one weekly event on the member's reminder
days at their time, in their time zone, with an alarm, so their calendar reminds them instead.

Written by hand (a few lines of iCalendar). The VTIMEZONE is made from zoneinfo: this year's
daylight-saving changes, repeated yearly by weekday rule, which is how such zones are written.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from program.models import PracticePreference

BYDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
EVENT_MINUTES = 15


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 75:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def _transitions(zone: ZoneInfo, year: int) -> list[tuple[datetime, timedelta, timedelta, bool]]:
    """(UTC instant, offset before, offset after, is daylight after) for each change in `year`."""
    found = []
    start = datetime(year, 1, 1, tzinfo=UTC)
    previous = start.astimezone(zone).utcoffset()
    for hour in range(1, 366 * 24):
        moment = start + timedelta(hours=hour)
        if moment.year != year:
            break
        local = moment.astimezone(zone)
        if local.utcoffset() != previous:
            found.append((moment, previous, local.utcoffset(), bool(local.dst())))
            previous = local.utcoffset()
    return found


def _yearly_rule(day: date) -> str:
    nth = (day.day - 1) // 7 + 1
    last = (day + timedelta(days=7)).month != day.month
    which = "-1" if last else str(nth)
    return f"RRULE:FREQ=YEARLY;BYMONTH={day.month};BYDAY={which}{BYDAY[day.weekday()]}"


def vtimezone(name: str, *, year: int) -> list[str]:
    zone = ZoneInfo(name)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    changes = _transitions(zone, year)
    if not changes:
        offset = _offset(datetime(year, 1, 1, tzinfo=zone).utcoffset())
        lines += [
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            f"TZOFFSETFROM:{offset}",
            f"TZOFFSETTO:{offset}",
            "END:STANDARD",
        ]
    for moment, before, after, daylight in changes:
        kind = "DAYLIGHT" if daylight else "STANDARD"
        local_start = (moment + before).replace(tzinfo=None)  # wall clock before the change
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{local_start:%Y%m%dT%H%M%S}",
            _yearly_rule(local_start.date()),
            f"TZOFFSETFROM:{_offset(before)}",
            f"TZOFFSETTO:{_offset(after)}",
            f"END:{kind}",
        ]
    lines.append("END:VTIMEZONE")
    return lines


def practice_calendar(
    *, pref: PracticePreference, site_name: str, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//si-program//practice reminders//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(site_name)}: practice",
    ]
    if pref.reminder_days and pref.reminder_time is not None:
        zone = ZoneInfo(pref.time_zone)
        today = now.astimezone(zone).date()
        # The first chosen weekday from today on, so DTSTART is itself one of the occurrences.
        first = next(
            today + timedelta(days=i)
            for i in range(7)
            if (today + timedelta(days=i)).weekday() in pref.reminder_days
        )
        start = datetime.combine(first, pref.reminder_time)
        end = start + timedelta(minutes=EVENT_MINUTES)
        days = ",".join(BYDAY[d] for d in sorted(pref.reminder_days))
        lines += vtimezone(pref.time_zone, year=today.year)
        lines += [
            "BEGIN:VEVENT",
            f"UID:practice-{pref.user_id}@si-program",
            f"DTSTAMP:{now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            f"DTSTART;TZID={pref.time_zone}:{start:%Y%m%dT%H%M%S}",
            f"DTEND;TZID={pref.time_zone}:{end:%Y%m%dT%H%M%S}",
            f"RRULE:FREQ=WEEKLY;BYDAY={days}",
            "SUMMARY:Gentle practice (a few slow minutes)",
            f"DESCRIPTION:{_escape('Open Today on ' + site_name + ' and start today’s practice.')}",
            "TRANSP:TRANSPARENT",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:Time for today's gentle practice",
            "TRIGGER:PT0M",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
