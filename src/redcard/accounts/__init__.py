"""Members, merchant staff and operators: sign-up, login, sessions, roles."""
