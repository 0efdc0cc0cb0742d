"""Finding an application's registry from a reference, ``package.module:attribute``, as the
command line and the AWS entry point name it, or the path of a SAM template."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._errors import TemplateError
from ._handler import HandlerImportError, import_handler
from ._registry import Registry

#: The endings of a template's file name (SAM's ``template.yaml``, CloudFormation's JSON).
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")

__all__ = ["RegistryNotFound", "locate_registry"]


class RegistryNotFound(Exception):
    """A reference names no registry; the message says why."""


def is_template(reference: str) -> bool:
    """Whether ``reference`` is the path of a template rather than a module's attribute."""
    return reference.lower().endswith(TEMPLATE_SUFFIXES) or os.path.isfile(reference)


def locate_registry(reference: str, parameters: Mapping[str, str] | None = None) -> Registry:
    """Import the :class:`~faaslib.Registry` that ``package.module:attribute`` names, or read
    the SAM template at a path (:meth:`~faaslib.Registry.from_template`, with ``parameters``).

    :raises RegistryNotFound: the reference is malformed, does not import, or names
        something else than a registry; the template does not read
    """
    if is_template(reference):
        try:
            return Registry.from_template(reference, parameters=parameters)
        except TemplateError as exc:
            raise RegistryNotFound(str(exc)) from exc
    module, colon, attribute = reference.partition(":")
    if not (colon and module and attribute):
        raise RegistryNotFound(
            f"{reference!r} is not 'package.module:attribute', the module and the name of a "
            "faaslib.Registry (e.g. 'app.functions:registry'), nor a SAM template's path"
        )
    try:
        found = import_handler((module, attribute))
    except HandlerImportError as exc:
        raise RegistryNotFound(f"{reference!r} names nothing that imports: {exc.message}") from exc
    if not isinstance(found, Registry):
        raise RegistryNotFound(f"{reference!r} is a {type(found).__name__}, not a faaslib.Registry")
    return found
