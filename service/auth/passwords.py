"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations).

The cost is a setting (`TEJUN_PASSWORD_HASH_PROFILE`): `standard` (the default, RFC 9106 low-memory) in every
deployment; `cheapest` only for test suites, which create hundreds of users and would otherwise spend most of
their time hashing. Hashes made with one profile verify under the other, and sign-in re-hashes a password whose
parameters differ from the profile in force (`needs_rehash`).
"""

from __future__ import annotations

import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PROFILES = {"standard": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}
MIN_LENGTH = 12


def _hasher_for(profile: str) -> PasswordHasher:
    if profile not in PROFILES:
        raise ValueError(f"TEJUN_PASSWORD_HASH_PROFILE must be one of {', '.join(PROFILES)}, not {profile!r}")
    return PasswordHasher.from_parameters(PROFILES[profile])


_hasher = _hasher_for(os.environ.get("TEJUN_PASSWORD_HASH_PROFILE") or "standard")
# verified against when the user does not exist, so both paths cost the same time
_DUMMY = _hasher.hash("tejun-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def password_problems(password: str) -> list[str]:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if password.lower() == password or password.upper() == password:
        problems.append("both upper- and lower-case letters")
    return problems
