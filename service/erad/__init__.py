"""e-Rad (府省共通研究開発管理システム): the numbers tejun carries, and their one definition.

* The **e-Rad project number** (課題番号) of a case: what the funding agency's programme gives the project in
  e-Rad. Programmes write it differently (KAKENHI `23K01234`, JST `JPMJCR2301`, AMED `JP23ym0126001`, some
  with hyphens), so the rule is: 1 to 32 ASCII letters, digits and hyphens, beginning with a letter or a
  digit. `POST /api/v1/cases` and the page /cases/new both check it here (422 with the pointer
  `/erad_project_number`).
* The **e-Rad researcher number** (研究者番号) of a team member: exactly eight digits. The team roster form
  (forms/team_roster.schema.json) declares it as `pattern: ^[0-9]{8}$` with the format
  `erad-researcher-number`; the roster import (`roster_import`) checks it with the same rule.
"""

from __future__ import annotations

import re

from ..errors import N_

PROJECT_NUMBER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,31}$")
RESEARCHER_NUMBER = re.compile(r"^[0-9]{8}$")

PROJECT_NUMBER_RULE = N_("Up to 32 letters, digits and hyphens.")  # the first one a letter or a digit
RESEARCHER_NUMBER_RULE = N_("An e-Rad researcher number is 8 digits.")


def is_project_number(value: str | None) -> bool:
    return isinstance(value, str) and PROJECT_NUMBER.fullmatch(value) is not None


def is_researcher_number(value: str | None) -> bool:
    return isinstance(value, str) and RESEARCHER_NUMBER.fullmatch(value) is not None
