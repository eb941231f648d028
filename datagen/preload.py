"""Imported by the fork server of local builds (datagen.engines): the ladder code and the word tables every
worker needs, loaded once in the fork server, so each worker forked from it starts with them."""

import datagen.read  # noqa: F401  (the reader step, unpickled in every worker)
import datagen.steps  # noqa: F401  (the ladder and writer steps)
from compressors.rake import preload

preload()
