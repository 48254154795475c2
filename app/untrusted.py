"""Text from X, Kafka, Redis or an operator, made safe for elements that render Markdown."""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile(f"([{re.escape(string.punctuation)}])")
# Streamlit's Markdown turns URLs, www. names, e-mail addresses and :shortcodes: in the parsed
# text into links and icons, after escapes are resolved: an invisible word joiner after each
# ":", "@" and "." keeps them apart.
_LINKABLE = re.compile(r"(\\[:@.])")
WORD_JOINER = "\u2060"


def safe(value: object) -> str:
    """The value for any element that renders Markdown (markdown, caption, error, table cells,
    ...): every ASCII punctuation character is backslash-escaped (CommonMark allows that for
    each of them) and nothing in it can become a link, so it shows as these characters and
    never as a link, an image, an icon, a directive, math or emphasis. Long or multi-line text
    goes to ``st.text``/``st.code`` instead.
    """
    return _LINKABLE.sub(rf"\1{WORD_JOINER}", _PUNCTUATION.sub(r"\\\1", str(value)))


def code(value: object) -> str:
    """The value as an inline code span: shown literally (Markdown inside a code span is not
    parsed, and a fence longer than any run of backticks in the value keeps it closed)."""
    text = str(value).replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
