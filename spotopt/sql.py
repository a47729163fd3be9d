"""Quoted names for the few statements written by hand on the hot paths."""

from django.db import connection


def column(model, field_name: str) -> str:
    """The quoted column of a model's field."""
    return connection.ops.quote_name(model._meta.get_field(field_name).column)


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def all_columns(model) -> str:
    """Every concrete column, quoted, in field order: for RETURNING and for
    SELECTs fed to Manager.raw()."""
    quote = connection.ops.quote_name
    return ", ".join(quote(field.column) for field in model._meta.concrete_fields)
