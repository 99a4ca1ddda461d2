"""Use cases on cases and tasks: everything that changes a case goes through here."""
