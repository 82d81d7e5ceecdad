"""The alert evaluator's once-a-minute loop (docs/domain.md §10), for the console and for
`connex-tui alerts run`.

One round: AlertsService.evaluate (every transition committed, one transaction per alert),
then the mail of each firing, sent AFTER its commit, and how it went noted in the event. A
mail that fails is noted and not retried (the next firing mails again). E.164 recipients
get nothing: there is no SMS gateway, which the event says.

In the console the loop runs on a thread of its own with its own event loop and database
engine (AlertThread, like the traffic simulator): a round's queries and SMTP exchange never
sit between a key and the screen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from connex_tui.data.access import Actor, StorageError
from connex_tui.feeds.loop_thread import LoopThread
from connex_tui.feeds.mail import MailError, SmtpSettings, send

INTERVAL = 60.0  # seconds between rounds


async def deliver(service, settings: SmtpSettings | None, outcomes: list) -> None:
    """Send the mail of each outcome that has one, and note the result in its event."""
    for out in outcomes:
        if out.mail is None or out.event_id is None:
            continue
        if settings is None:
            note = "mail off (no smtp_host in the config)"
        else:
            try:
                await send(settings, out.mail.to, out.mail.subject, out.mail.body)
                note = f"mailed {', '.join(out.mail.to)}"
            except MailError as exc:
                note = str(exc)
        await service.note_event(out.event_id, note)


async def run_once(service, settings: SmtpSettings | None) -> list:
    """One round: evaluate, commit, then mail. Returns the outcomes that did something."""
    outcomes = await service.evaluate()
    await deliver(service, settings, outcomes)
    return outcomes


async def run_forever(service, settings: SmtpSettings | None, stop: asyncio.Event, *,
                      interval: float = INTERVAL,
                      report: Callable[[list], None] | None = None,
                      failed: Callable[[StorageError], None] | None = None) -> None:
    """A round every `interval` seconds until `stop` is set. A database failure is
    reported and the next round tries again."""
    while not stop.is_set():
        try:
            outcomes = await run_once(service, settings)
            if report is not None:
                report(outcomes)
        except StorageError as exc:
            if failed is not None:
                failed(exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


class AlertThread(LoopThread):
    """The evaluator inside the console: its own thread, loop and engine."""

    name = "alerts"

    def __init__(self, config, notify: Callable[[str], None], *, interval: float = INTERVAL):
        super().__init__()
        self.config = config
        self.notify = notify  # called from the thread: must be thread-safe
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        from connex_tui.data.alerts import AlertsService
        from connex_tui.data.db import Database

        warned: list[str] = []

        def failed(exc: StorageError) -> None:
            if not warned:  # once: it retries every round
                warned.append(str(exc))
                self.notify(f"Alerts: {exc} (retrying)")

        def report(outcomes: list) -> None:
            fired = [o for o in outcomes if o.decision.fires and not o.skipped]
            if fired:
                self.notify("Alert fired: " + "; ".join(f"{o.customer}: {o.title}"
                                                        for o in fired[:3])
                            + (f" and {len(fired) - 3} more" if len(fired) > 3 else ""))

        db = Database.for_config(self.config)
        try:
            service = AlertsService(db, Actor("alerts", "admin"))
            await run_forever(service, SmtpSettings.from_config(self.config), stop,
                              interval=self.interval, report=report, failed=failed)
        finally:
            await db.dispose()
