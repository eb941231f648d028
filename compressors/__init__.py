"""Algorithmic compressors that build text compression ladders; no training, no downloads."""

from compressors.ladder import Ladder, LadderConfig, build, check, plan
from compressors.rake import Rake, SingleWord
from compressors.select import CannotCompress
from compressors.textrank import TextRank

__all__ = ["CannotCompress", "Ladder", "LadderConfig", "Rake", "SingleWord", "TextRank", "build", "check", "plan"]
