"""Django's PostgreSQL backend, with PASSWORD allowed to be a callable that is
called for every new connection (see settings.database_password)."""

from django.db.backends.postgresql import base, client


def _resolve(password):
    return password() if callable(password) else password


class DatabaseClient(client.DatabaseClient):
    """`manage.py dbshell` passes the resolved password to psql (via PGPASSWORD)."""

    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        settings_dict = {**settings_dict, "PASSWORD": _resolve(settings_dict.get("PASSWORD"))}
        return super().settings_to_cmd_args_env(settings_dict, parameters)


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def get_connection_params(self):
        params = super().get_connection_params()
        password = _resolve(self.settings_dict.get("PASSWORD"))
        if password:
            params["password"] = password
        else:
            params.pop("password", None)
        return params
