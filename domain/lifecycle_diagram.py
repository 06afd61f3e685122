"""The lifecycle diagrams, generated from the same definitions the machines run.

`docs/domain.md` embeds this output between markers, and a test fails when the two
differ, so the pictures in the docs cannot drift from the code.
"""

from __future__ import annotations

from transitions.extensions.diagrams import GraphMachine

from .family import EXPORT
from .lifecycle import Lifecycle, build_machine


class _Sketch:
    """A throwaway model: a GraphMachine draws the graph of a model it holds."""


def mermaid_diagram(lifecycle: Lifecycle = EXPORT) -> str:
    """`lifecycle` as a Mermaid `stateDiagram-v2`, without per-model styling."""
    model = _Sketch()
    build_machine(
        lifecycle,
        model,
        machine_class=GraphMachine,
        graph_engine="mermaid",
        show_conditions=True,
        title=lifecycle.status_field,
    )
    source: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
    # Drop the styling lines (they mark the sketch's current state, meaningless here).
    lines = [
        line.rstrip()
        for line in source.splitlines()
        if not line.strip().startswith(("classDef ", "Class "))
    ]
    return "\n".join(line for line in lines if line) + "\n"
