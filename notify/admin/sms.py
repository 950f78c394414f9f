"""How many SMS segments a text costs. One non-GSM character (an emoji, a curly quote) switches
the whole message to UCS-2, which cuts a segment from 160 characters to 70."""

from __future__ import annotations

import math
from dataclasses import dataclass

# GSM 03.38 default alphabet (without the escape character itself) and its extension table,
# whose characters take two septets each.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    characters: int
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int

    def __str__(self) -> str:
        noun = "segment" if self.segments == 1 else "segments"
        return f"{self.characters} characters, {self.encoding}, {self.segments} {noun}"


def sms_length(text: str) -> SmsLength:
    """Segments as carriers count them: 160/153 units per segment in GSM-7, 70/67 in UCS-2
    (a multipart message spends part of each segment on its header). Carriers never split an
    escape pair across segments, so a long GSM-7 text may occasionally need one more."""
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text):
        encoding, single, multi = "GSM-7", 160, 153
        units = sum(2 if c in GSM_EXTENSION else 1 for c in text)
    else:
        encoding, single, multi = "UCS-2", 70, 67
        units = len(text.encode("utf-16-le")) // 2
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = math.ceil(units / multi)
    return SmsLength(characters=len(text), encoding=encoding, units=units, segments=segments)
