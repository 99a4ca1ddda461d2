"""Per-process caches keyed by database ids (model versions, forms, reference lists).

In production a process talks to one database. A test process may build a second database of its own (the
audit CLI tests, the drills), whose ids repeat those of the first: nothing cached may cross between them.
"""

from __future__ import annotations


def forget_model_caches() -> None:
    from service import model_cache
    from service.cases import history
    from service.forms import references

    model_cache.forget()
    history._maps.clear()  # one of model_cache's too, once history.py's change lands
    references.forget()
