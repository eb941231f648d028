"""`sample`: expand a seed word rung by rung with a trained model. `expand` is the Python API under the CLI."""

from sample.expand import Decoding, expand
from sample.load import load, resolve

__all__ = ["Decoding", "expand", "load", "resolve"]
