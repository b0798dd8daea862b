"""User interfaces: the `rag` command line and the Gradio chat."""

import os

# Before any module here imports gradio: no usage reports leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
