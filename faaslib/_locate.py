"""Finding an application's registry from a reference, ``package.module:attribute``, as the
command line and the AWS entry point name it."""

from __future__ import annotations

from ._handler import HandlerImportError, import_handler
from ._registry import Registry

__all__ = ["RegistryNotFound", "locate_registry"]


class RegistryNotFound(Exception):
    """A reference names no registry; the message says why."""


def locate_registry(reference: str) -> Registry:
    """Import the :class:`~faaslib.Registry` that ``package.module:attribute`` names.

    :raises RegistryNotFound: the reference is malformed, does not import, or names
        something else than a registry
    """
    module, colon, attribute = reference.partition(":")
    if not (colon and module and attribute):
        raise RegistryNotFound(
            f"{reference!r} is not 'package.module:attribute', the module and the name of a "
            "faaslib.Registry (e.g. 'app.functions:registry')"
        )
    try:
        found = import_handler((module, attribute))
    except HandlerImportError as exc:
        raise RegistryNotFound(f"{reference!r} names nothing that imports: {exc.message}") from exc
    if not isinstance(found, Registry):
        raise RegistryNotFound(f"{reference!r} is a {type(found).__name__}, not a faaslib.Registry")
    return found
