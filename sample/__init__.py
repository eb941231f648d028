"""`sample`: expand a seed word rung by rung with a trained model. `expand` is the Python API under the CLI."""

from model.export import ExportInfo, load, resolve
from sample.decode import Decoding, OptionError
from sample.expand import expand, expand_seeds

__all__ = ["Decoding", "ExportInfo", "OptionError", "expand", "expand_seeds", "load", "resolve"]
