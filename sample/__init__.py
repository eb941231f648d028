"""`sample`: expand a seed word rung by rung with a trained model. `expand` is the Python API under the CLI."""

from sample.expand import Decoding, expand, expand_seeds
from sample.load import load, resolve

__all__ = ["Decoding", "expand", "expand_seeds", "load", "resolve"]
