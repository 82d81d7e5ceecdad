"""What the far end does with a call the switch sent on: answer or a failure, the post-dial
delay, the ring and talk time. Drawn from seeded streams; the demo history and the live
traffic simulator both draw here (the live switch adds a per-destination mood).

The failure mix is of a wholesale route: busy, no answer, caller cancels before answer,
timeouts, bad numbers and provider errors, in the shares below.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from connex_tui.feeds.demo.draws import between, cum

# failures, as shares of the attempts that are not answered
CODE_WEIGHTS = ((486, 0.20), (480, 0.15), (487, 0.24), (408, 0.05), (404, 0.04),
                (484, 0.025), (503, 0.09), (603, 0.03), (403, 0.015))
REASON = {200: "OK", 486: "Busy Here", 480: "Temporarily Unavailable",
          487: "Request Terminated", 408: "Request Timeout", 404: "Not Found",
          484: "Address Incomplete", 503: "Service Unavailable", 603: "Decline",
          403: "Forbidden"}
RELEASE = {486: "busy", 480: "no_answer", 487: "caller_cancel", 408: "timeout",
           404: "callee_reject", 484: "callee_reject", 503: "provider_error",
           603: "callee_reject", 403: "callee_reject"}
RANG = frozenset((200, 480, 487, 603))  # the codes that ring first (they have a PDD)


@dataclass(frozen=True, slots=True)
class Mix:
    """A customer's far end: answer-seizure ratio, mean call length (s), mean PDD (ms),
    and the final codes with their cumulative weights."""

    asr: float
    acd: float
    pdd: float
    codes: tuple[int, ...]
    code_cw: tuple[float, ...]

    @classmethod
    def of(cls, asr: float, acd: float, pdd: float) -> Mix:
        codes = [(200, asr)] + [(code, w * (1 - asr)) for code, w in CODE_WEIGHTS]
        return cls(asr, acd, pdd, tuple(c for c, _ in codes),
                   tuple(cum([w for _, w in codes])))

    def code(self, rng: random.Random) -> int:
        """The final code of one attempt."""
        cw = self.code_cw
        return self.codes[bisect.bisect(cw, rng.random() * cw[-1])]


def draw_mix(rng: random.Random) -> Mix:
    """Most customers answer 44-60 % of attempts; one in twelve is a poor 28-36 %."""
    asr = rng.uniform(0.44, 0.6) if rng.random() > 0.08 else rng.uniform(0.28, 0.36)
    acd = rng.uniform(120, 240)
    return Mix.of(asr, acd, rng.uniform(1500, 3400))


@dataclass(frozen=True, slots=True)
class Outcome:
    """Times in ms from the INVITE: ringing (None: never rang), answer (None: not
    answered) and end; the talk time; who released it."""

    code: int
    pdd_ms: int | None
    answer_ms: int | None
    duration_ms: int
    end_ms: int
    release: str


def outcome(rng: random.Random, code: int, mean_pdd: float, acd: float,
            max_duration_s: int) -> Outcome:
    """The far end's timings for an attempt ending in `code`; an answered call is cut at
    the decision's max duration."""
    pdd = answer = None
    duration = 0
    release = RELEASE.get(code, "")
    if code in RANG:
        pdd = min(6000, max(800, int(rng.lognormvariate(0, 0.35) * mean_pdd)))
    if code == 200:
        answer = pdd + between(rng, 2000, 18000)
        if rng.random() < 0.12:  # a wrong number, an answering machine: hung up at once
            duration = between(rng, 1000, 15000)
        else:
            duration = int(rng.expovariate(1 / acd) * 1000) + between(rng, 1, 999)
        release = "callee_bye" if rng.random() < 0.55 else "caller_bye"
        if duration > max_duration_s * 1000:
            duration, release = max_duration_s * 1000, "max_duration"
        end = answer + duration
    elif code == 480:
        end = pdd + between(rng, 20000, 60000)
    elif code == 487:
        end = pdd + between(rng, 2000, 25000)
    elif code == 603:
        end = pdd + between(rng, 2000, 15000)
    elif code == 408:
        end = 32000
    else:
        end = between(rng, 80, 1500)
    return Outcome(code, pdd, answer, duration, end, release)
