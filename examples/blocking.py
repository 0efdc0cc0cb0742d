"""faaslib from plain synchronous code (a script, a Flask or Django view, a plain test).

Run: ``python examples/blocking.py`` (after ``pip install .``).
"""

from __future__ import annotations

from dataclasses import dataclass

import faaslib

registry = faaslib.Registry()


@dataclass
class Greeting:
    name: str


@registry.function
def greet(event: Greeting, context: faaslib.Context) -> dict[str, str]:
    return {"message": f"Hello, {event.name}!", "function": context.function_name}


def main() -> None:
    with faaslib.BlockingInvoker(registry) as invoker:
        result = invoker.invoke("greet", {"name": "Ada"})
        print(result.status_code, result.json())
        print(invoker.invoke("greet", {"name": "Grace"}, "Event").status_code)
        invoker.drain()
        print(invoker.statistics().events_succeeded, "event done")


if __name__ == "__main__":
    main()
