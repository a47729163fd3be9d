"""Quoted names for the few statements written by hand on the hot paths,
and models built from their rows."""

import functools

from django.db import connection


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
