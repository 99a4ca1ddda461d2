"""Who is acting: a user with their role grants, or the system itself (timer worker, migrations)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    organization_id: int
    organization_kind: str
    role: str
    # auditors: "all" or "fa"; everyone else: "organization"
    scope: str = "organization"


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    grants: tuple[Grant, ...] = ()
    display_name: str = ""
    locale: str = "ja"
    is_system: bool = False

    @classmethod
    def of(cls, user_id: int, username: str, display_name: str | None, locale: str | None, memberships) -> Actor:
        """`memberships`: (organization id, organization kind, role, scope, organization active) each; those in
        inactive organizations grant nothing."""
        return cls(
            user_id=user_id,
            username=username,
            display_name=display_name or username,
            locale=locale or "ja",
            grants=tuple(Grant(org, kind, role, scope or "organization")
                         for org, kind, role, scope, active in memberships if active),
        )

    @classmethod
    def from_user(cls, user) -> Actor:
        return cls.of(user.id, user.username, user.display_name, user.locale,
                      ((m.organization_id, m.organization.kind, m.role, m.scope, m.organization.active)
                       for m in user.memberships))

    def has(self, role: str, organization_id: int | None = None) -> bool:
        return any(
            g.role == role and (organization_id is None or g.organization_id == organization_id)
            for g in self.grants
        )

    def orgs_with(self, *roles: str) -> set[int]:
        return {g.organization_id for g in self.grants if g.role in roles}

    @property
    def organization_ids(self) -> set[int]:
        return {g.organization_id for g in self.grants}

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}


SYSTEM = Actor(user_id=None, username="system", display_name="tejun", is_system=True)
