"""``Registry.snapshot()`` and ``Registry.generation``: what an invoker reads of a registry."""

from __future__ import annotations

from typing import Any

import pytest

import faaslib


def handler(event: Any) -> Any:
    return event


def test_a_snapshot_holds_functions_versions_and_aliases() -> None:
    registry = faaslib.Registry()
    registry.function(handler, name="f")
    registry.function(handler, name="g")
    registry.publish_version("f")
    registry.create_alias("f", "live", "1")
    snapshot = registry.snapshot()
    assert snapshot.generation == registry.generation
    assert sorted(snapshot.functions) == ["f", "g"]
    assert [spec.name for spec in snapshot.versions["f"]] == ["f"]
    assert "g" not in snapshot.versions  # no version published
    assert snapshot.aliases["f"]["live"].function_version == "1"
    assert "g" not in snapshot.aliases
    assert registry.snapshot() is snapshot  # nothing changed: the same object


def test_every_change_moves_the_generation_and_leaves_old_snapshots_alone() -> None:
    registry = faaslib.Registry()
    seen = [registry.generation]
    before = registry.snapshot()

    def changed() -> None:
        assert registry.generation not in seen
        seen.append(registry.generation)

    registry.function(handler, name="f")
    changed()
    registry.update("f", timeout=10)
    changed()
    registry.publish_version("f")
    changed()
    registry.create_alias("f", "live", "1")
    changed()
    registry.update_alias("f", "live", description="the live one")
    changed()
    registry.delete_alias("f", "live")
    changed()
    other = faaslib.Registry()
    other.function(handler, name="h")
    registry.include(other, prefix="x-")
    changed()
    assert dict(before.functions) == {}  # taken before any change
    after = registry.snapshot()
    assert sorted(after.functions) == ["f", "x-h"]
    assert after.functions["f"].timeout == 10
    assert "f" not in after.aliases
    with pytest.raises(TypeError):
        after.functions["y"] = after.functions["f"]  # type: ignore[index]


def test_function_options_are_the_specs_fields() -> None:
    """The keyword arguments of Registry.function are declared once, as FunctionOptions:
    the same names as FunctionSpec's fields (its handler aside)."""
    import dataclasses
    import typing

    from faaslib._spec import FunctionOptions

    fields = {f.name for f in dataclasses.fields(faaslib.FunctionSpec) if f.init}
    assert set(typing.get_type_hints(FunctionOptions)) == fields - {"handler"}


def test_function_takes_a_handler_with_options() -> None:
    registry = faaslib.Registry()
    registry.function(handler, name="f", timeout=5, memory_size=256)
    registry.function(handler, name=None)  # type: ignore[call-overload]
    decorated = registry.function(name="g", description="the g")(handler)
    assert decorated is handler
    assert (registry.get("f").timeout, registry.get("f").memory_size) == (5, 256)
    assert registry.get("handler").timeout == 3.0  # the spec's default
    assert registry.get("g").description == "the g"
    with pytest.raises(TypeError):
        registry.function(handler, nonsense=1)  # type: ignore[call-overload]


def test_a_target_taking_attributes_types_as_a_dead_letter_only() -> None:
    class DeadLetters:
        def send(self, message: Any, /, *, attributes: dict[str, dict[str, str]]) -> None:
            return None

    registry = faaslib.Registry()
    target: faaslib.DeadLetter = DeadLetters()
    registry.function(handler, name="a", dead_letter=DeadLetters())
    # Only a dead letter carries attributes: mypy refuses it as another destination (the
    # ignore below is checked: mypy reports it if it stops being needed).
    registry.function(handler, name="b", on_failure=DeadLetters())  # type: ignore[call-overload]
    assert registry.get("a").dead_letter is not None
    assert target is not None
