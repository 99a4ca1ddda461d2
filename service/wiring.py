"""Start-up wiring: which code answers the hook points the use cases call (service/task_hooks.py).

Called once per process by `create_app` (web, worker and CLI all start there); the lower layers (the case
pipeline, routing, commands) only know the hook points, so nothing imports the screening, disclosure,
attachment, dashboard or designation code back into the pipeline.
"""

from __future__ import annotations

from . import task_hooks

_registered = False


def register_hooks() -> None:
    """Register every hook, in the order they run (once per process)."""
    global _registered
    if _registered:
        return
    from .attachments.sharing import share_context_attachments
    from .cases.designation import apply_when_completed
    from .cases.level_changes import check_submission as check_level_change
    from .dashboards.read_model import follow_event
    from .disclosures import record_disclosure_certification, starting_data
    from .screening.hooks import check_screening_submission, screen_ready_tasks

    def screen(session, case, tasks, items) -> None:
        screen_ready_tasks(session, case, tasks)

    def check_screening(session, case, item, flow, actor, data) -> None:
        check_screening_submission(session, case, item, data)

    def follow(session, case, event) -> None:
        follow_event(session, event)

    task_hooks.register("tasks_ready", screen)
    task_hooks.register("tasks_ready", share_context_attachments)  # evidence named in a task's context
    task_hooks.register("starting_data", starting_data)
    task_hooks.register("before_task_completed", check_screening)  # the screening gate first
    task_hooks.register("before_task_completed", record_disclosure_certification)
    task_hooks.register("before_task_completed", check_level_change)  # lowering a level needs a reason
    task_hooks.register("task_completed", follow)
    task_hooks.register("after_run", apply_when_completed)
    _registered = True
