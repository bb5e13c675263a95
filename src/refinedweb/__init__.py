"""refinedweb: raw web crawls to LLM training data, and on to a trained model.

Imports are cheap on purpose: heavy dependencies load where they are used.
"""

__version__ = "0.1.0"
