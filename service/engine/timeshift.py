"""Puts SpiffWorkflow's timers on tejun's clock (`service.clock`), so tests and replays can move time.

SpiffWorkflow's timer module calls `datetime.now(timezone.utc)` directly. We give that module, and only
that module, a `datetime` whose `now()` asks `service.clock`. Everything else about datetimes is unchanged.
"""

from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from .. import clock


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        moment = clock.now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


_timer_module.datetime = _ClockedDatetime
