"""Imported by the fork server of local builds (datagen.engines): the ladder code and the word tables every
worker needs, loaded once in the fork server, so each worker forked from it starts with them.

Workers ignore Ctrl-C: the fork server hands its children the SIGINT handler it had before it imported
this, and a pool worker that takes a KeyboardInterrupt prints its traceback (even one idle between
tasks). The main process alone takes Ctrl-C; leaving the pool terminates the workers, and it prints the
one line that says how to resume (tests/hostile.py)."""

import signal

import datagen.read  # noqa: F401  (the reader step, unpickled in every worker)
import datagen.steps  # noqa: F401  (the ladder and writer steps)
from compressors.rake import preload

preload()
signal.signal(signal.SIGINT, signal.SIG_IGN)
