"""Users, organizations, roles, permissions, sign-in and API tokens."""
