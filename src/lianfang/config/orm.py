"""Small bridges between plain SQL and Django models (for hot paths that skip the ORM's query building)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def loaded(model: type[Model], **values) -> Model:
    """An instance of ``model`` as if read from the database with only ``values`` (by attname);
    every other field is deferred and loads on access, like ``.only()``."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
    return model.from_db(connection.alias, names, [values[n] for n in names])
