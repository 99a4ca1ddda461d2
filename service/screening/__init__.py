"""Restricted-party screening (docs/screening.md).

`sources` (the lists and how their layouts map onto entries), `importers` (files → versioned snapshots),
`normalize` and `matching` (names → comparable forms → scored, classified hits with evidence), `procedure`
(screening in ① risk identification, reviews, re-screening after an import).
"""
