"""Follow-up questions: carry the earlier question's key terms into one that leans on it."""

from __future__ import annotations

import re

from .text import key_nouns, lexical_terms

# Words that point back at something named earlier: 他/她/它(们), 其, 该, 这位/那些, 此人, 上述.
_REFERS_BACK = re.compile(r"[他她它]们?|其[中他]?|该|这[位些家]|那[位些家]|此人|上述|前者|后者")
MIN_TERMS = 2  # a question with fewer content terms than this cannot stand alone
MAX_CARRIED = 4


def needs_context(question: str) -> bool:
    """True when the question refers back (pronouns) or is too short to search on its own."""
    return bool(_REFERS_BACK.search(question)) or len(lexical_terms(question)) < MIN_TERMS


def resolve_followup(question: str, history: list[str]) -> str:
    """The question as searched: prefixed with the last earlier question's key terms when it needs them."""
    if not history or not needs_context(question):
        return question
    earlier = [t for t in dict.fromkeys(key_nouns(history[-1])) if t not in question]
    if not earlier:
        return question
    return " ".join(earlier[:MAX_CARRIED]) + " " + question
