"""Django's PostgreSQL backend logging in with credentials from secretkit:
`"ENGINE": "secretkit.django.postgresql"` (see base.py)."""
