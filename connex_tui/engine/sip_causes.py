"""Switch hangup causes as SIP codes (docs/domain.md §7): Q.850 causes as RFC 3398 and
FreeSWITCH map them, Asterisk `cdr_csv` dispositions, and the reason phrase of each code.

One table for every importer; docs/domain.md §7 prints the same mapping.
"""

from __future__ import annotations

# Q.850 cause name -> (cause number, SIP code of a call that was not answered)
Q850: dict[str, tuple[int | None, int]] = {
    "UNALLOCATED_NUMBER": (1, 404),
    "NO_ROUTE_DESTINATION": (3, 404),
    "NORMAL_CLEARING": (16, 487),  # answered: 200 (see sip_for_cause)
    "USER_BUSY": (17, 486),
    "NO_USER_RESPONSE": (18, 408),
    "NO_ANSWER": (19, 480),
    "SUBSCRIBER_ABSENT": (20, 480),
    "CALL_REJECTED": (21, 603),
    "DESTINATION_OUT_OF_ORDER": (27, 502),
    "INVALID_NUMBER_FORMAT": (28, 484),
    "NORMAL_CIRCUIT_CONGESTION": (34, 503),
    "NORMAL_TEMPORARY_FAILURE": (41, 503),
    "INCOMPATIBLE_DESTINATION": (88, 488),
    "RECOVERY_ON_TIMER_EXPIRE": (102, 504),
    "ORIGINATOR_CANCEL": (None, 487),  # FreeSWITCH's own cause (487), not Q.850
}
_BY_NUMBER = {number: name for name, (number, _) in Q850.items() if number is not None}

DISPOSITIONS: dict[str, int] = {
    "ANSWERED": 200,
    "BUSY": 486,
    "NO ANSWER": 480,
    "CONGESTION": 503,
    "FAILED": 502,
}

REASONS: dict[int, str] = {
    200: "OK",
    404: "Not Found",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    603: "Decline",
}

UNKNOWN = 500  # anything else: 500, the cause kept as the reason


def cause_name(cause: str) -> str:
    """The cause's name: FreeSWITCH writes names, other switches the Q.850 number."""
    text = cause.strip().upper()
    if text.isdigit():
        return _BY_NUMBER.get(int(text), text)
    return text


def sip_for_cause(cause: str, answered: bool) -> tuple[int, str]:
    """(SIP code, reason) of a call that ended with Q.850 `cause`. An answered call's final
    response was 200 whatever ended it; an unknown cause is 500 with the cause as reason."""
    if answered:
        return 200, REASONS[200]
    name = cause_name(cause)
    known = Q850.get(name)
    if known is None:
        return UNKNOWN, name[:100] or REASONS[UNKNOWN]
    return known[1], REASONS[known[1]]


def sip_for_disposition(disposition: str) -> tuple[int, str]:
    """(SIP code, reason) of an Asterisk disposition (ANSWERED, BUSY, NO ANSWER, ...)."""
    name = " ".join(disposition.upper().split())
    code = DISPOSITIONS.get(name)
    if code is None:
        return UNKNOWN, name[:100] or REASONS[UNKNOWN]
    return code, REASONS[code]


def reason_for(code: int) -> str:
    """The reason phrase of a SIP code ('' when the table has none)."""
    return REASONS.get(code, "")
