"""Per-process caches keyed by database ids (model versions, forms, reference lists).

In production a process talks to one database. A test process may build a second database of its own (the
audit CLI tests, the drills), whose ids repeat those of the first: nothing cached may cross between them.
"""

from __future__ import annotations


def forget_model_caches() -> None:
    from service import model_cache
    from service.forms import references

    model_cache.forget()
    references.forget()
