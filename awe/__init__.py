"""awe: A Workflow Engine — MG-RAST AWE re-created in Python."""

__version__ = "0.1.0"
