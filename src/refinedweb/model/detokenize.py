"""Token ids in, text out, one token at a time: the text of a completion is the concatenation of the deltas.

Two things make this harder than ``tokenizer.decode`` on each token:

- a byte-level token can hold part of a UTF-8 character, so decoding it alone gives U+FFFD; a delta is released only
  when the text decodes cleanly (a completion cut mid-character by ``max_new_tokens`` ends with U+FFFD, as
  ``tokenizer.decode`` would give);
- tokenizers decide spaces from context (WordPiece ``##`` pieces, SentencePiece's ``▁``), so each step decodes a
  short window that starts a few tokens back, and returns what the new token added to that window's text. This is
  the "prefix offset / read offset" scheme of vLLM's incremental detokenizer.

Stop strings (the OpenAI ``stop`` field) are cut here too: the completion ends just before the first one and does not
contain it; text that could be the start of a stop string is held back until the next token rules it in or out, so a
stream never shows text that the full completion would not have.
"""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"  # what a decoder gives for bytes that do not (yet) form a UTF-8 character
CONTEXT_TOKENS = 5  # prompt tokens decoded in front of the first generated one, so its leading space is right


class TextStream:
    """One completion's text. ``push(token_id)`` returns the new text that is safe to show (maybe ""), ``finish()``
    the rest. After a stop string is seen, ``stopped`` is True and further pushes return ""."""

    def __init__(self, tokenizer: Any, prompt_ids: list[int], stop: list[str] | tuple[str, ...] = ()):
        self.tokenizer = tokenizer
        self.stop = [s for s in stop if s]
        self.ids = list(prompt_ids[-CONTEXT_TOKENS:])
        self.prefix_offset = 0  # the window decoded each step starts here ...
        self.read_offset = len(self.ids)  # ... and its text up to here has already been released
        self.text = ""  # the completion so far (released or held back), never past a stop string
        self.emitted = 0  # how many characters of ``text`` were returned
        self.stopped = False

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def push(self, token_id: int) -> str:
        if self.stopped:
            return ""
        self.ids.append(int(token_id))
        old = self._decode(self.ids[self.prefix_offset:self.read_offset])
        new = self._decode(self.ids[self.prefix_offset:])
        if len(new) <= len(old) or new.endswith(REPLACEMENT):
            return ""  # nothing visible yet, or an incomplete character: wait for the next token
        self.prefix_offset, self.read_offset = self.read_offset, len(self.ids)
        return self._add(new[len(old):], final=False)

    def finish(self) -> str:
        """The text still held back (an incomplete character, a possible stop-string start), at the end."""
        if self.stopped:
            return ""
        old = self._decode(self.ids[self.prefix_offset:self.read_offset])
        new = self._decode(self.ids[self.prefix_offset:])
        self.prefix_offset = self.read_offset = len(self.ids)
        return self._add(new[len(old):], final=True)

    def _add(self, piece: str, final: bool) -> str:
        self.text += piece
        cut = self._first_stop()
        if cut is not None:
            self.text, self.stopped = self.text[:cut], True
            return self._release(len(self.text))
        return self._release(len(self.text) if final else len(self.text) - self._held_back())

    def _first_stop(self) -> int | None:
        # Only the new text (and a stop's length before it) can hold a stop string not seen before.
        start = max(0, self.emitted - max((len(s) for s in self.stop), default=0))
        hits = [i for i in (self.text.find(s, start) for s in self.stop) if i >= 0]
        return min(hits) if hits else None

    def _held_back(self) -> int:
        """Length of the longest end of ``text`` that is the start of a stop string."""
        longest = 0
        for stop in self.stop:
            for n in range(min(len(stop) - 1, len(self.text)), longest, -1):
                if self.text.endswith(stop[:n]):
                    longest = n
                    break
        return longest

    def _release(self, upto: int) -> str:
        upto = max(upto, self.emitted)
        delta, self.emitted = self.text[self.emitted:upto], upto
        return delta
