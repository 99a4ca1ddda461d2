"""The reader's words for codes and values (labels) and for stored values (render), in the reader's language.

Below the entry points: the pages, the audit presentation and the names catalog all use it.
"""
