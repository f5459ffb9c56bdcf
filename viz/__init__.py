"""viz: draw a recorded minigrad graph with graphviz.

    import viz
    loss.backward()
    viz.draw_graph(loss)                       # a graphviz.Digraph; a notebook shows it
    viz.render(loss, "loss", format="svg")     # writes loss.gv and loss.svg
    viz.to_dot(loss, collapse=["batchnorm"])   # plain DOT text, no graphviz needed
    steps = viz.backward_steps(loss)           # one frame per node whose grad became final
    viz.write_steps(steps, "out/steps")        # the frames as SVGs + one HTML page, a slider

Tensors are tables (name, shape, dtype, data, grad), ops are small boxes between them, scopes
(`with minigrad.scope("bn"):`) are clusters. See graph.build for every option.
viz imports minigrad's tensors duck-typed; minigrad never imports viz.
"""

from .graph import to_dot
from .render import DotNotFound, draw_graph, render
from .steps import backward_steps, steps_html, write_steps

__all__ = ["DotNotFound", "backward_steps", "draw_graph", "render", "steps_html", "to_dot",
           "write_steps"]
