"""Per-process caches keyed by database ids (model versions, forms, reference lists).

In production a process talks to one database. A test process may build a second database of its own (the
audit CLI tests, the drills), whose ids repeat those of the first: nothing cached may cross between them.
"""

from __future__ import annotations


def forget_model_caches() -> None:
    from service.cases import forms, history
    from service.designer import store
    from service.forms import references
    from service.web import forms as web_forms

    for module, names in ((store, ("_specs", "_files", "_hashes", "_forms")), (history, ("_maps",)),
                          (forms, ("_expanded",)), (web_forms, ("_cache",))):
        for name in names:
            getattr(module, name, {}).clear()
    references.forget()
