"""Where the shared public corpora (OMG MIWG, SpiffWorkflow's test models, rjsf samples) live.

They sit beside the checkout in ``../shared/corpora``; a clean clone made elsewhere (CI clones main into
another directory) finds them through ``TEJUN_CORPORA`` or the workplace's ``/work/shared/corpora``.
"""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def _find() -> Path:
    candidates = [os.environ.get("TEJUN_CORPORA"), _ROOT.parent / "shared" / "corpora", "/work/shared/corpora"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "miwg").is_dir():
            return Path(candidate)
    return _ROOT.parent / "shared" / "corpora"  # absent: the tests that need it fail and name this path


CORPORA = _find()
