"""The lifecycle diagram, generated from the same definition the machine runs.

`docs/domain.md` embeds this output between markers, and a test fails when the two
differ, so the picture in the docs cannot drift from the code.
"""

from __future__ import annotations

from transitions.extensions.diagrams import GraphMachine

from .lifecycle import build_machine


class _Sketch:
    """A throwaway model: a GraphMachine draws the graph of a model it holds."""


def mermaid_diagram() -> str:
    """The export lifecycle as a Mermaid `stateDiagram-v2`, without per-model styling."""
    model = _Sketch()
    build_machine(model, machine_class=GraphMachine, graph_engine="mermaid", title="export_status")
    source: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
    # Drop the styling lines (they mark the sketch's current state, meaningless here).
    lines = [
        line.rstrip()
        for line in source.splitlines()
        if not line.strip().startswith(("classDef ", "Class "))
    ]
    return "\n".join(line for line in lines if line) + "\n"
