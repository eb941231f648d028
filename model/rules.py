"""What a step may write next: the one constraint that sampling, the loss and the codec apply.

A step's target is `<words_b>` (the length bucket), then, for `infill`, `<gap_0> gap_0 <gap_1> … gap_n
</s>` around the fragments of the rung above, else the rung's text and `</s>`. At every position a
`Row` knows what has been written and allows only tokens that keep these rules:

- **Order.** The length token first, then the sentinels in order, none skipped, the end only after the
  last one; no other control token.
- **Valid text.** The bytes written form UTF-8 that can still be completed: no invalid byte, no broken
  sequence, and a control token only once every character is finished. No output ever holds U+FFFD.
- **Whole words.** A kept fragment's words stay words (`compressors.analysis.WORD`: letters and digits
  with inner apostrophes): a gap never starts with a letter or digit right after a fragment that ends
  in one, never ends in one (nor in such a word and an apostrophe) right before a fragment that starts
  with one, and is never empty where the two fragments around it would fuse. A possessive 's may
  follow a kept word, as the ladder allows ("Apollo" kept from "Apollo's").
- **Whitespace as rungs hold it.** A run of whitespace is one space, one newline or one blank line
  (`"\n\n"`), and a rung neither starts nor ends with whitespace: what `datagen` writes in every rung
  of every ladder, so no double spaces, trailing spaces or runs of blank lines are ever written.
- **Length.** The rung's word count stays inside the bounds of its length bucket (or of `Plan.words`):
  the end is allowed only from the fewest, and no token may start a word that would pass the most
  (the words of fragments not yet placed counted in). With a token limit (sampling), a row whose
  tokens left only just hold the words it still lacks may write only tokens that begin a word, and
  the remaining control tokens are forced when only they still fit. Teacher forcing and the codec plan
  without a limit, so their rules are the bucket's alone.

Training targets obey every rule (their alignment puts fragments at word boundaries, model.align), so
the loss taken under it is finite and is the code length of exactly what sampling draws from.
The per-token facts (bytes, how each token moves the UTF-8 and word state) are tabled once per
tokenizer (`TokenTable`); a row's state maps to a key, and each key's mask is built once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from model.markers import LENGTHS, SENTINELS, bucket_bounds, length_token, sentinel

# Word state of the text written so far: not in a word (or nothing yet), in a word, an apostrophe right
# after a word character (a letter or digit next joins that word: "don't").
OUTSIDE, IN_WORD, APOSTROPHE = 0, 1, 2
APOSTROPHES = frozenset("'’")

# Whitespace state: nothing written yet (the rung's start), after a character that is not whitespace,
# after " ", after "\n", after "\n\n". BROKEN: a run the rungs never hold.
START, INK, SPACE, NEWLINE, BLANK_LINE, BROKEN = 0, 1, 2, 3, 4, -1
SPACE_STATES = (START, INK, SPACE, NEWLINE, BLANK_LINE)
_SPACE_MOVES = {(INK, " "): SPACE, (INK, "\n"): NEWLINE, (NEWLINE, "\n"): BLANK_LINE}


def char_step(state: int, ch: str) -> tuple[int, int]:
    """(words begun, next state) after one character: the incremental form of compressors.analysis.WORD."""
    if ch.isalnum():
        return (1 if state == OUTSIDE else 0), IN_WORD
    if ch in APOSTROPHES and state == IN_WORD:
        return 0, APOSTROPHE
    return 0, OUTSIDE


def space_effect(text: str, state: int) -> int:
    """The whitespace state after `text` written in `state` (BROKEN: it makes a run the rungs never hold)."""
    for ch in text:
        if not ch.isspace():
            state = INK
        elif (state := _SPACE_MOVES.get((state, ch), BROKEN)) == BROKEN:
            return BROKEN
    return state


def text_effect(text: str, state: int = OUTSIDE) -> tuple[int, int]:
    """(words begun, end state) of `text` written after `state`."""
    begun = 0
    for ch in text:
        n, state = char_step(state, ch)
        begun += n
    return begun, state


# --- UTF-8: Unicode's table of well-formed byte sequences ---------------------------------------------


def _second_range(lead: int) -> tuple[int, int] | None:
    """The bytes allowed right after a lead byte, or None when `lead` cannot start a character."""
    if 0xC2 <= lead <= 0xDF or 0xE1 <= lead <= 0xEC or 0xEE <= lead <= 0xEF or 0xF1 <= lead <= 0xF3:
        return 0x80, 0xBF
    return {0xE0: (0xA0, 0xBF), 0xED: (0x80, 0x9F), 0xF0: (0x90, 0xBF), 0xF4: (0x80, 0x8F)}.get(lead)


def _length_of(lead: int) -> int:
    return 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def utf8_scan(prefix: bytes, data: bytes) -> tuple[str, bytes] | None:
    """(the characters `prefix + data` completes, the bytes of an unfinished last one), or None when the
    bytes are not a prefix of well-formed UTF-8."""
    buf = prefix + data
    i, end = 0, len(buf)
    while i < end:
        lead = buf[i]
        n = _length_of(lead)
        if n > 1:
            second = _second_range(lead)
            if second is None:
                return None
            for j in range(1, n):
                if i + j == end:
                    return buf[:i].decode("utf-8"), buf[i:]
                lo, hi = second if j == 1 else (0x80, 0xBF)
                if not lo <= buf[i + j] <= hi:
                    return None
        i += n
    return buf.decode("utf-8"), b""


@functools.lru_cache(maxsize=4096)
def can_end_outside_word(partial: bytes) -> bool:
    """Whether an unfinished character can still become one that is not a letter or digit."""
    n = _length_of(partial[0])
    low, high = bytearray(partial), bytearray(partial)
    for j in range(len(partial), n):
        lo, hi = _second_range(partial[0]) if j == 1 else (0x80, 0xBF)
        low.append(lo)
        high.append(hi)
    first, last = ord(bytes(low).decode("utf-8")), ord(bytes(high).decode("utf-8"))
    return any(not chr(c).isalnum() for c in range(first, last + 1))


# --- per tokenizer -----------------------------------------------------------------------------------


def _byte_decoder() -> dict[str, int]:
    """The byte-level BPE alphabet (GPT-2's bytes_to_unicode) read back to bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def token_bytes(tok) -> list[bytes]:
    """The bytes each token id writes (b"" for control tokens): exact for byte-level BPE, the decoded
    text otherwise."""
    vocab = len(tok)
    pieces = tok.convert_ids_to_tokens(list(range(vocab)))
    special = set(tok.all_special_ids)
    decoder = tok.backend_tokenizer.decoder if getattr(tok, "backend_tokenizer", None) else None
    if decoder is not None and "ByteLevel" in type(decoder).__name__ + repr(decoder)[:20]:
        table = _byte_decoder()
        if all(ch in table for p in pieces[:300] if p for ch in p):
            return [
                b"" if i in special or p is None else bytes(table.get(ch, 63) for ch in p) for i, p in enumerate(pieces)
            ]
    return [
        b"" if i in special else tok.decode([i], clean_up_tokenization_spaces=False).encode("utf-8")
        for i in range(vocab)
    ]


@dataclass
class Effects:
    """How each token moves a row that has written `prefix` (an unfinished character, or nothing)."""

    valid: np.ndarray  # (V,) bool: the bytes continue well-formed UTF-8
    has_char: np.ndarray  # (V,) bool: it finishes at least one character
    first_alnum: np.ndarray  # (V,) bool: its first finished character is a letter or digit
    begun: np.ndarray  # (3, V) words begun, from each word state
    end: np.ndarray  # (3, V) word state after it, from each word state
    tail: list[bytes]  # an unfinished character it leaves
    tail_can_end_outside: np.ndarray  # (V,) bool: that character can still end outside a word (True: none)
    space: np.ndarray  # (5, V) whitespace state after it, from each whitespace state (BROKEN: not allowed)


class TokenTable:
    """The constraint's per-token tables for one tokenizer, and the mask of each row state met so far."""

    def __init__(self, tok):
        self.vocab = len(tok)
        self.bytes = token_bytes(tok)
        self.eos = tok.eos_token_id
        self.sentinels = tuple(tok.convert_tokens_to_ids([sentinel(i) for i in range(SENTINELS)]))
        self.sentinel_set = frozenset(self.sentinels)
        lengths = tok.convert_tokens_to_ids([length_token(b) for b in range(LENGTHS)])
        self.has_lengths = all(i is not None and i != tok.unk_token_id for i in lengths)
        self.lengths = tuple(lengths) if self.has_lengths else ()
        self.bucket_of = {t: b for b, t in enumerate(self.lengths)}
        special = set(tok.all_special_ids) | self.sentinel_set | set(self.lengths)
        self.control = np.zeros(self.vocab, dtype=bool)
        self.control[sorted(i for i in special if i is not None and 0 <= i < self.vocab)] = True
        self.from_start = self._effects(b"", range(self.vocab))
        self.continuations = [i for i, b in enumerate(self.bytes) if b and 0x80 <= b[0] <= 0xBF and not self.control[i]]
        self.max_begun = int(self.from_start.begun.max()) + 1  # a budget this large limits no token
        self._masks: dict[tuple, object] = {}
        self._penalties: dict[tuple, object] = {}

    def _effects(self, prefix: bytes, ids) -> Effects:
        v = self.vocab
        out = Effects(
            np.zeros(v, bool),
            np.zeros(v, bool),
            np.zeros(v, bool),
            np.zeros((3, v), np.int16),
            np.zeros((3, v), np.int8),
            [b""] * v,
            np.ones(v, bool),
            np.full((len(SPACE_STATES), v), BROKEN, np.int8),
        )
        for i in ids:
            if self.control[i]:
                continue
            scanned = utf8_scan(prefix, self.bytes[i])
            if scanned is None:
                continue
            text, tail = scanned
            out.valid[i], out.has_char[i], out.tail[i] = True, bool(text), tail
            out.first_alnum[i] = bool(text) and text[0].isalnum()
            for state in (OUTSIDE, IN_WORD, APOSTROPHE):
                out.begun[state, i], out.end[state, i] = text_effect(text, state)
            for state in SPACE_STATES:
                out.space[state, i] = space_effect(text, state)
            if tail:
                out.tail_can_end_outside[i] = can_end_outside_word(tail)
        return out

    @functools.lru_cache(maxsize=256)
    def after(self, prefix: bytes) -> Effects:
        """Effects after an unfinished character: only tokens that start with continuation bytes can follow."""
        return self._effects(prefix, self.continuations)

    def effects(self, prefix: bytes) -> Effects:
        return self.after(prefix) if prefix else self.from_start

    def mask(self, key: tuple):
        """(V,) bool tensor of the tokens allowed in a row state (`Row.key`), built once per key."""
        found = self._masks.get(key)
        if found is None:
            import torch

            found = self._masks[key] = torch.from_numpy(self._build(key))
        return found

    def penalty(self, key: tuple):
        """(V,) float32 tensor: 0 where `mask(key)` allows a token, -inf elsewhere. Added to logits it masks
        them exactly as masked_fill does, at the cost of one float add (bool tensor ops cost several
        times more on CPU: bench/sample_speed.py)."""
        found = self._penalties.get(key)
        if found is None:
            import torch

            found = self._penalties[key] = torch.zeros(self.vocab).masked_fill(~self.mask(key), float("-inf"))
        return found

    def _build(self, key: tuple) -> np.ndarray:
        out = np.zeros(self.vocab, dtype=bool)
        if key[0] == "one":
            out[key[1]] = True
            return out
        if key[0] == "length":
            out[list(self.lengths)] = True
            return out
        _, prefix, state, space, at_start, budget, control, urgent = key
        e = self.effects(prefix)
        ok = e.valid & (e.space[space] != BROKEN)
        # what must become a character outside a word once finished: a gap's first one after a kept word, or
        # any new one when no word is left to begin
        must_end_outside = np.full(self.vocab, at_start) & ~e.has_char
        if at_start:
            ok &= ~(e.has_char & e.first_alnum)
        if budget is not None:
            left = budget - e.begun[state].astype(np.int32)  # (V,) words still free after the token
            ok &= left >= 0
            must_end_outside |= (left == 0) & (e.end[state] == OUTSIDE)
        ok &= ~must_end_outside | e.tail_can_end_outside
        if urgent and (ok & (e.begun[state] >= 1)).any():
            ok &= e.begun[state] >= 1  # the tokens left only just hold the words still missing
        if control is not None:
            ok[control] = True
        return ok


@functools.lru_cache(maxsize=8)
def token_table(tok) -> TokenTable:
    return TokenTable(tok)


# --- one row ---------------------------------------------------------------------------------------

LENGTH, FIRST_GAP, WRITING, DONE = 0, 1, 2, 3
URGENCY = 3  # tokens of slack before a row short of its fewest words may only write tokens that begin one


@dataclass(frozen=True)
class Plan:
    """What one row of a step must write."""

    fragments: tuple[str, ...] | None = None  # the rung above's fragments (infill); None: a whole rung
    length_token: bool = True  # the target starts with a length token (when the tokenizer has them)
    bucket: int | None = None  # the length bucket to force (None: any, as the model predicts)
    words: tuple[int, int | None] | None = None  # (fewest, most) words of the rung, instead of the bucket's
    limit: int | None = None  # most tokens, control tokens included (None: no limit)

    @property
    def gaps(self) -> int:
        return 0 if self.fragments is None else len(self.fragments) + 1


class Row:
    """The state of one row as it writes its target: `key` says what may come next, `advance` takes a token,
    `texts` is what each gap (or the whole rung) holds so far."""

    def __init__(self, plan: Plan, table: TokenTable):
        self.plan, self.table = plan, table
        frags = plan.fragments or ()
        self.frag_words = [text_effect(f)[0] for f in frags]
        self.frag_starts_alnum = [bool(f) and f[0].isalnum() for f in frags]
        # a sampled rung may hold a fragment with whitespace at an edge ("a , b" splits into "a " and "b")
        self.frag_starts_space = [bool(f) and f[0].isspace() for f in frags]
        self.count = 0  # sentinels written
        self.prefix = b""  # the bytes of an unfinished character
        self.state = OUTSIDE  # word state of the rung so far
        self.space = START  # whitespace state of the rung so far
        self.at_start = False  # right after a fragment that ends in a letter or digit, nothing of the gap yet
        self.words = 0  # words of the rung so far
        self.pending = sum(self.frag_words)  # words of the fragments not placed yet
        # a fragment that starts with an apostrophe and a letter ("'s") joins a word the gap ends in, so it
        # may begin one word fewer: the length's lower bound counts fragments at the least they add
        self.frag_joins = [len(f) > 1 and f[0] in APOSTROPHES and f[1].isalnum() for f in frags]
        self.pending_least = self.pending - sum(self.frag_joins)
        self.tokens = 0
        self.bounds = plan.words
        self.texts: list[list[str]] = [[]] if plan.fragments is None else []
        if plan.length_token and table.has_lengths:
            self.phase = LENGTH
        else:
            self.phase = FIRST_GAP if plan.fragments is not None else WRITING

    @property
    def done(self) -> bool:
        return self.phase == DONE

    def _next_control(self) -> int:
        return self.table.sentinels[self.count % SENTINELS] if self.count < self.plan.gaps else self.table.eos

    def _controls_left(self) -> int:
        return (self.phase == LENGTH) + max(self.plan.gaps - self.count, 0) + 1

    def _may_close(self, control: int) -> bool:
        """Whether the next control token keeps every character finished and the fragment after it whole."""
        if self.prefix:
            return False
        if control == self.table.eos:
            return self.space in (START, INK) and (self.bounds is None or self.words >= self.bounds[0])
        i = self.count - 1
        return not (self.frag_starts_alnum[i] and self.state != OUTSIDE) and not (
            self.frag_starts_space[i] and self.space not in (START, INK)
        )

    def key(self) -> tuple:
        t = self.table
        if self.phase == LENGTH:
            return ("one", t.lengths[self.plan.bucket]) if self.plan.bucket is not None else ("length",)
        if self.phase == FIRST_GAP:
            return ("one", t.sentinels[0])
        control = self._next_control()
        if self.plan.limit is not None and self.plan.limit - self.tokens <= self._controls_left():
            return ("one", control)  # only the control tokens still fit
        budget, urgent = None, False
        if self.bounds is not None and self.bounds[1] is not None:
            budget = max(0, min(self.bounds[1] - self.words - self.pending, t.max_begun))
        if self.bounds is not None and self.plan.limit is not None and not self.prefix:
            missing = self.bounds[0] - self.words - self.pending_least  # words the gaps must still begin
            urgent = missing > 0 and self.plan.limit - self.tokens - self._controls_left() <= missing + URGENCY
        at_start = self.at_start and self.state == IN_WORD
        return (
            "write",
            self.prefix,
            self.state,
            self.space,
            at_start,
            budget,
            control if self._may_close(control) else None,
            urgent,
        )

    def advance(self, token: int) -> None:
        t = self.table
        self.tokens += 1
        if self.phase == LENGTH:
            bucket = t.bucket_of.get(token)
            if bucket is not None and self.bounds is None:
                self.bounds = bucket_bounds(bucket)
            self.phase = FIRST_GAP if self.plan.fragments is not None else WRITING
        elif self.phase == FIRST_GAP:
            self.count, self.phase = 1, WRITING
            self.texts.append([])
        elif token == t.eos:
            self.prefix, self.phase = b"", DONE
            self._strip_end()  # an end the token limit forced after whitespace
        elif token in t.sentinel_set and self.plan.fragments is not None and self.count < self.plan.gaps:
            self._place(self.count - 1)
        elif not t.control[token]:
            self._write(token)
        if self.plan.limit is not None and self.tokens >= self.plan.limit and self.phase != DONE:
            self.phase = DONE
            self._cut()

    def _cut(self) -> None:
        """The token limit ended the row mid-gap: leave what it wrote a rung the rules would allow. The
        fragments not placed yet follow with empty gaps (model.align.interleave), so the first of them
        must not fuse with a word this gap ends in; a rung's last gap drops its trailing whitespace."""
        self.prefix = b""
        following = self.count - 1  # the fragment after the gap being written (infill)
        if self.plan.fragments is not None and 0 <= following < len(self.plan.fragments):
            if self.texts and self.frag_starts_alnum[following] and self.state != OUTSIDE:
                self._add(" ")
        else:
            self._strip_end()

    def _strip_end(self) -> None:
        if self.space not in (START, INK) and self.texts and self.texts[-1]:
            self.texts[-1] = ["".join(self.texts[-1]).rstrip()]
            self.space = INK

    def _place(self, i: int) -> None:
        """A sentinel: fragment i (0-based) of the rung above stands here, then gap i + 1 begins."""
        self.prefix = b""  # an unfinished character, dropped: only a sentinel forced by the token limit meets one
        if self.frag_starts_alnum[i] and self.state != OUTSIDE:  # closed by the token limit inside a word
            self._add(" ")  # so the fragment's first word stays a word
        frag = self.plan.fragments[i]
        begun, self.state = text_effect(frag, self.state)
        self._space_after(frag)
        self.words += begun
        self.pending -= self.frag_words[i]
        self.pending_least -= self.frag_words[i] - self.frag_joins[i]
        self.count += 1
        self.at_start = bool(frag) and frag[-1].isalnum()
        self.texts.append([])

    def _write(self, token: int) -> None:
        scanned = utf8_scan(self.prefix, self.table.bytes[token])
        if scanned is None:  # a token the rules forbid, fed anyway (a damaged code): its bytes are dropped
            return
        text, self.prefix = scanned
        if text:
            self._add(text)
            self.at_start = False

    def _add(self, text: str) -> None:
        begun, self.state = text_effect(text, self.state)
        self._space_after(text)
        self.words += begun
        self.texts[-1].append(text)

    def _space_after(self, text: str) -> None:
        """The whitespace state after `text`; a run the rules forbid (a space the token limit added, a kept
        fragment with whitespace at its edge) goes on from its last character."""
        space = space_effect(text, self.space) if text else self.space
        if space == BROKEN:
            space = space_effect(text[-1], INK) if text[-1] in " \n" else INK
        self.space = space

    def gap_texts(self) -> list[str]:
        """What each gap holds (infill), or the whole text, as finished characters."""
        return ["".join(parts) for parts in self.texts]


def start_rows(plans: list[Plan], tok) -> list[Row]:
    table = token_table(tok)
    return [Row(p, table) for p in plans]


def next_masks(rows: list[Row]):
    """(b, V) bool: what each row may write next."""
    import torch

    return torch.stack([r.table.mask(r.key()) for r in rows])


def next_penalties(rows: list[Row]):
    """(b, V) float32: 0 where each row may write a token next, -inf elsewhere (`TokenTable.penalty`)."""
    import torch

    return torch.stack([r.table.penalty(r.key()) for r in rows])


def teacher_masks(plans: list[Plan], targets: list[list[int]], tok, width: int):
    """((B, T) key ids, (K, V) masks): what each target position may hold, walking each target as written.

    Positions past a target's end get the mask of everything (no loss is taken there)."""
    import torch

    table = token_table(tok)
    keys: dict[tuple, int] = {("all",): 0}
    ids = torch.zeros(len(targets), width, dtype=torch.long)
    for b, (plan, target) in enumerate(zip(plans, targets)):
        row = Row(plan, table)
        for j, token in enumerate(target[:width]):
            ids[b, j] = keys.setdefault(row.key(), len(keys))
            row.advance(token)
    every = torch.ones(table.vocab, dtype=torch.bool)
    return ids, torch.stack([every if k == ("all",) else table.mask(k) for k in keys])
