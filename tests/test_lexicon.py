"""The lexicon (model.lexicon): the words of a model's training text, and the sampling filter that keeps
the words a step writes to them."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch

from model import lexicon
from model.export import ExportInfo
from model.lexicon import LexiconFilter, WordCounter
from model.tokenizer import train_tokenizer

TEXTS = [
    "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition.",
    "The quick brown fox jumps over the lazy dog; the dog sleeps. Don't wake it in 1999.",
    "Königsberg had seven bridges, and Euler walked none of them twice.",
]
WORDS = frozenset(w.casefold() for t in TEXTS for w in re.findall(r"[^\W_]+", t) if not w.isdigit())


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(TEXTS * 20 + ["zqx vbn 日本 Москва"] * 20, vocab_size=400, levels=4)


def test_counter_keeps_words_met_twice_case_folded_and_the_file_reads_back(tmp_path):
    counter = WordCounter()
    passed = list(counter.counted(["The cat", "the dog", "a Cat's 42 42"]))
    assert passed == ["The cat", "the dog", "a Cat's 42 42"]
    assert counter.words() == ["cat", "the"]  # digits need no lexicon; "dog", "a", "s" were met once
    lexicon.write(tmp_path, counter.words())
    assert lexicon.read(tmp_path) == frozenset({"cat", "the"})
    assert lexicon.read(tmp_path / "elsewhere") is None


def _allowed_by_definition(f: LexiconFilter, table, partial: str, token: int) -> bool:
    """The filter's rule read off the text the token would leave: every word it finishes is a lexicon word
    (or digits), and the word it ends inside is on its way to one."""
    if table.control[token]:
        return partial == "" or f.is_word(partial)
    try:
        text = partial + table.bytes[token].decode("utf-8").casefold()
    except UnicodeDecodeError:
        return False
    runs = list(re.finditer(r"[^\W_]+", text))
    for i, m in enumerate(runs):
        last = i == len(runs) - 1 and m.end() == len(text)
        if not (f.is_prefix(m.group()) if last else f.is_word(m.group())):
            return False
    return True


@pytest.mark.parametrize("partial", ["", "e", "emm", "emma", "q", "qu", "zq", "bridge", "köni", "xyz", "don", "19"])
def test_the_mask_is_the_rule_for_every_token(tok, partial):
    from model.rules import token_table

    f, table = LexiconFilter(tok, WORDS), token_table(tok)
    mask = f.mask(partial)
    expected = [_allowed_by_definition(f, table, partial, i) for i in range(table.vocab)]
    assert mask.tolist() == expected
    if partial == "" or f.is_prefix(partial):
        assert mask.any(), "some token goes on toward a word"


def test_phrase_rungs_are_those_the_ladder_makes_of_phrases():
    from sample.expand import is_phrase_rung

    info = ExportInfo(4, "infill", "ladder", False, 256, 256, {}, ladder={"min_sentence_words": 24}, text_words=150)
    # 150 words over 4 levels: rungs of about 43, 12 and 3.5 words, the last two under 24: phrases
    assert [is_phrase_rung(info, rung, None) for rung in range(5)] == [False, False, True, True, False]
    # 2000 words: rungs of about 299, 45 and 7 words: only the last is made of phrases
    assert [is_phrase_rung(info, rung, 2000) for rung in range(5)] == [False, False, False, True, False]


def _generated_words(trajectory) -> list[str]:
    """The words each step wrote around what it kept (model.align.Rung.kept), case-folded."""
    out = []
    for rung in trajectory[1:]:
        text, at = str(rung), 0
        for a, b in [*rung.kept, (len(str(rung)), len(str(rung)))]:
            gap = text[at:a]
            inner = re.findall(r"[^\W_]+", gap)
            # a run touching a kept span is part of the kept word (a possessive "s", an edge)
            if inner and re.match(r"[^\W_]", gap) and at > 0:
                inner = inner[1:]
            if inner and re.search(r"[^\W_]$", gap) and a < len(text):
                inner = inner[:-1]
            out += [w.casefold() for w in inner]
            at = b
    return out


def test_an_untrained_model_writes_lexicon_words_with_the_filter_and_not_without(tok):
    from model.build import build_model
    from model.config import ModelConfig
    from sample import Decoding, expand_seeds

    torch.manual_seed(0)
    model = build_model(ModelConfig(d_model=32, layers=1, heads=2, d_ff=64), tok).eval()
    info = ExportInfo(
        4, "infill", "ladder", False, 256, 256, {str(k): 64 for k in range(1, 5)}, lengths=True, text_words=40
    )
    info = replace(info, words=WORDS)
    shares = {}
    for mode in ("all", "off"):
        torch.manual_seed(1)
        per_seed = expand_seeds(
            model, tok, info, ["Euler", "fox"], 4, num=3, decoding=Decoding(1.5, 1.0, lexicon=mode), words=40
        )
        words = [w for trajectories in per_seed for t in trajectories for w in _generated_words(t)]
        assert len(words) > 60
        shares[mode] = sum(w in WORDS or w.isdigit() for w in words) / len(words)
    # The filter yields only where the rules leave it no token (a word the length bound must end now).
    assert shares["all"] > 0.9 and shares["off"] < 0.6, shares


def test_a_trained_run_exports_its_lexicon(tiny_run):
    from model.export import load

    words = lexicon.read(tiny_run / "export")
    assert words and {"the", "and"} <= words
    assert load(tiny_run / "export")[2].words == words
