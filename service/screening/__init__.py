"""Restricted-party screening (docs/screening.md).

`sources` (the lists and how their layouts map onto entries), `importers` (files → versioned snapshots),
`normalize` and `matching` (names → comparable forms → scored, classified hits with evidence), and screening in
① risk identification:

* `lists`: the lists in force for a case, the snapshots, each process's cache of their search indexes;
* `subjects`: who and what a screening task is about, with every name the case knows for them;
* `runs`: subjects searched in the indexes, hits stored (decisions on the same entry carried over), the events;
* `rows`: the form's rows as the hits and reviews say (`match_status`, `listed_relation`,
  `past_affiliation_end_year`: what `derive_risk_subjects` turns into F2 for `bpmn/risk_rubric.dmn`);
* `hooks` (registered at start-up, service/wiring.py): when the screening-results task becomes ready, its
  subjects are screened and its rows pre-filled; its submission is refused while a hit waits for review, or
  when a row contradicts a confirmed match;
* `review`: a security officer of the lead institution decides on each hit (confirmed match with the relation,
  or false positive, with a reason): a case event, and the open form's rows rewritten through the case
  pipeline; reading a case's screening (an institution's own list withheld from the FA);
* `rescreen` and `notify`: after a list import, every running case's subjects against the new snapshot; new
  hits join the open review, or a new probable or exact hit asks for a `screening_hit` follow-up
  (service/followups) and the case's security officers are told.
"""
