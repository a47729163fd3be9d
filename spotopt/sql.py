"""Quoted names for the few statements written by hand on the hot paths,
and models built from their rows."""

import functools

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections


def column(model, field_name: str) -> str:
    """The quoted column of a model's field."""
    return connection.ops.quote_name(model._meta.get_field(field_name).column)


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def all_columns(model, alias: str = "") -> str:
    """Every concrete column, quoted, in field order: for RETURNING and for
    SELECTs fed to Manager.raw() or rows_as_models(); `alias` qualifies
    them with a table alias."""
    quote = connection.ops.quote_name
    prefix = f"{quote(alias)}." if alias else ""
    return ", ".join(
        prefix + quote(field.column) for field in model._meta.concrete_fields
    )


def row_as_model(model, values):
    """A model instance from the values all_columns(model) selected, built
    and converted as the ORM builds it; None when its primary key is NULL
    (an outer join that matched nothing). Returns it and the values left."""
    fields = model._meta.concrete_fields
    own, rest = values[: len(fields)], values[len(fields):]
    if own[model._meta.concrete_fields.index(model._meta.pk)] is None:
        return None, rest
    converted = [
        _converted(value, converters, column)
        for value, (converters, column) in zip(
            own, _converters(model, connection.alias), strict=True
        )
    ]
    names = [field.attname for field in fields]
    return model.from_db(connection.alias, names, converted), rest


def _converted(value, converters, column):
    for converter in converters:
        value = converter(value, column, connection)
    return value


@functools.cache
def _converters(model, alias: str) -> list:
    # As the compiler orders them: the backend's, then the field's.
    columns = [field.get_col(model._meta.db_table) for field in
               model._meta.concrete_fields]
    return [
        (connection.ops.get_db_converters(column)
         + column.get_db_converters(connection), column)
        for column in columns
    ]


def prepared_cursor():
    """Django's cursor for a hand-written statement that runs thousands of
    times a second: on PostgreSQL its parameters are bound by the server
    and the statement is prepared once per connection. Use it as Django's:
    `with prepared_cursor() as cursor:`.

    Django binds parameters in Python by default, quoting each into the
    SQL text: for the heartbeat's statement of two dozen parameters that
    was a fifth of the call's CPU, and the server then parsed and planned
    the text anew every time. Errors and the connection's health checks
    stay Django's. While queries are logged (DEBUG, or a test counting
    them) the statement runs as Django runs it, since Django's log reads
    the SQL text of a client-bound statement. Off with
    DB_PREPARED_STATEMENTS=0 (for a connection pooler that cannot keep
    prepared statements).
    """
    # The wrapper itself, found once: each attribute read through the
    # `connection` proxy looks it up again, thread-locally.
    db = connections[DEFAULT_DB_ALIAS]
    if (
        db.vendor != "postgresql"
        or not settings.DB_PREPARED_STATEMENTS
        or db.queries_logged
    ):
        return db.cursor()
    # What cursor() does, with a server-binding cursor of psycopg's: the
    # connection's prepare_threshold of 0 (settings) prepares what it runs
    # the first time.
    db.close_if_health_check_failed()
    db.ensure_connection()
    return db.make_cursor(psycopg.Cursor(db.connection))
