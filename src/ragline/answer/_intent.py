"""What a question asks for: the key terms an answer must contain and the answer's type.

The extractive answerer quotes sentences; a sentence close to the question in words and
meaning can still answer a different question ("Who is the CFO?" against "Marit de
Vries, Chief Executive Officer"; "What is the net profit?" against "Gross profit was
EUR 18.6 million"). :func:`question_intent` reads the question with a few rules
(English and Spanish) and :meth:`Intent.accepts` says whether a sentence can be quoted:

- **key terms**: a role (CFO = chief financial officer = director financiero, never
  CEO), a finance measure that has look-alikes (net profit/income/result vs gross
  profit vs operating profit/EBIT vs EBITDA vs revenue/sales), a unit the question
  names ("in cm", "how many kg"; not durations: "how many years" is answered by "a
  decade" too), a year ("in 2019"): each group must be matched by
  the sentence (or, for a year, by the chunk's heading or title: "Highlights of 2025");
- **answer type**: how many/much, what price/percentage … → a number (digits or
  number words); who (a name) and when (a date) are detected but not enforced (see
  :data:`ENFORCED_TYPES`); yes/no and open questions → anything.

Rules are cheap (a few regular expressions per sentence) and run offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# -- key-term groups: every alias of a group means the same thing --------------------

#: roles: alias patterns (lower case, word-bounded) for each role
ROLES: dict[str, tuple[str, ...]] = {
    "ceo": (
        r"ceo",
        r"chief executive(?: officer)?",
        r"managing director",
        r"director(?:a)? ejecutiv[oa]",
        r"consejer[oa] delegad[oa]",
    ),
    "cfo": (
        r"cfo",
        r"chief financial officer",
        r"finance director",
        r"director(?:a)? financier[oa]",
    ),
    "cto": (
        r"cto",
        r"chief technology officer",
        r"chief technical officer",
        r"director(?:a)? técnic[oa]",
        r"director(?:a)? de tecnología",
    ),
    "coo": (r"coo", r"chief operating officer", r"director(?:a)? de operaciones"),
    "cmo": (r"cmo", r"chief marketing officer", r"director(?:a)? de marketing"),
    "chair": (r"chair(?:man|woman|person)?", r"presidente?a?"),
}

#: finance measures that look alike but are different numbers
FINANCE: dict[str, tuple[str, ...]] = {
    "net": (
        r"net (?:profit|income|result|earnings|loss)",
        r"profit (?:for|of) the (?:year|period)",
        r"(?:beneficio|resultado) neto",
    ),
    "gross_margin": (r"gross margin", r"margen bruto"),
    "gross_profit": (r"gross profit", r"beneficio bruto"),
    "ebitda": (r"ebitda",),
    "operating": (
        r"operating (?:profit|income|result|loss)",
        r"ebit",
        r"resultado (?:operativo|de explotación)",
        r"beneficio operativo",
    ),
    "revenue": (
        r"revenues?",
        r"(?:net )?sales",
        r"turnover",
        r"ingresos",
        r"facturación",
        r"ventas",
    ),
}
#: a question naming a term of the left group is asking for it, not the right one
#: (checked in this order; "net sales" is revenue, not net profit)
_FINANCE_ORDER = ("gross_margin", "gross_profit", "ebitda", "operating", "net", "revenue")

#: units a question can name; the answer must carry one of the aliases
UNITS: dict[str, tuple[str, ...]] = {
    "cm": (r"cm", r"centim(?:e|è)t(?:er|re|ro)s?"),
    "mm": (r"mm", r"millim(?:e|è)t(?:er|re|ro)s?"),
    "m": (r"m", r"met(?:er|re|ro)s?"),
    "km": (r"km", r"kilomet(?:er|re|ro)s?"),
    "kg": (r"kg", r"kilo(?:gram(?:me)?s?|s)?"),
    "percent": (r"%", r"percent", r"per cent", r"por ciento"),
    "wh": (r"wh", r"watt[- ]hours?"),
    "w": (r"w", r"watts?"),
    "v": (r"v", r"volts?"),
    "hours": (r"hours?", r"h", r"horas?"),
    "days": (r"days?", r"días?", r"business days?", r"working days?"),
    "years": (r"years?", r"años?"),
}
_UNIT_IN_QUESTION = re.compile(
    r"\b(?:in|en|how many|cuántos|cuántas|what|which)\s+("
    + "|".join(a for k in ("cm", "mm", "km", "kg", "wh") for a in UNITS[k])
    + r")\b",
    re.IGNORECASE,
)


def _alias_re(aliases: tuple[str, ...]) -> re.Pattern[str]:
    body = "|".join(aliases)
    # word-bounded; "%" has no word boundary of its own
    return re.compile(rf"(?<![\w])(?:{body})(?![\w])", re.IGNORECASE)


_ROLE_RES = {k: _alias_re(v) for k, v in ROLES.items()}
_FINANCE_RES = {k: _alias_re(v) for k, v in FINANCE.items()}
_UNIT_RES = {k: _alias_re(v) for k, v in UNITS.items()}

# -- answer types ---------------------------------------------------------------------

_WHO = re.compile(r"^\W*(?:who|whom|whose|quién(?:es)?|quien(?:es)?)\b", re.IGNORECASE)
_WHEN = re.compile(
    r"^\W*(?:when|cuándo|cuando)\b|\b(?:what|which|in what|en qué) (?:year|date|day|month)\b"
    r"|\bqué (?:año|fecha|día|mes)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"^\W*(?:how (?:many|much|long|far|tall|high|heavy|big|old|often|fast)|"
    r"cuánt[oa]s?|cuanto|cuanta)\b|"
    r"\b(?:what|which) (?:is|was|are|were) (?:the |its |their |helio's )?"
    r"(?:price|cost|percentage|rate|share|number|amount|weight|range|capacity|speed)\b|"
    r"\bqué (?:precio|porcentaje|cantidad|peso|autonomía)\b",
    re.IGNORECASE,
)
_YES_NO = re.compile(
    r"^\W*(?:is|are|was|were|do|does|did|can|could|will|would|should|has|have|may|"
    r"puedo|puede|hay|es|está|tiene)\b",
    re.IGNORECASE,
)

_NAME = re.compile(
    r"\b[A-ZÁÉÍÓÚÑ][a-zà-ÿ]+(?:\s+(?:de|van|der|den|da|del|la|von|le|di|y))*\s+[A-ZÁÉÍÓÚÑ][a-zà-ÿ]+"
)
_DIGIT = re.compile(r"\d")
_NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"(?:thir|four|fif|six|seven|eigh|nine)teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty|"
    r"hundred|thousand|million|billion|dozen|half|once|twice|a few|several|"
    r"uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|"
    r"quince|dieci\w+|veinte|veinti\w+|treinta|cuarenta|cincuenta|cien|ciento|mil|millones|"
    r"media|medio)\b",
    re.IGNORECASE,
)
_MONTH = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|enero|febrero|marzo|"
    r"abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
#: a reporting period: a year, FY2025, Q3, "first quarter", H1
PERIOD = re.compile(
    r"(?<![\w])(?:(?:fy|q[1-4]|h[12])\s?'?\d{2,4}|(?:19|20)\d\d|q[1-4]|h[12]|"
    r"(?:first|second|third|fourth) quarter|fiscal year)(?![\w])",
    re.IGNORECASE,
)


#: a number with its unit or currency ("EUR 3.2 million", "38.2%", "168–182 cm")
UNIT_NUMBER = re.compile(
    r"(?:(?:eur|usd|gbp|€|\$|£)\s?\d|\d(?:[\d.,]*)\s?(?:%|€|\$|(?:eur|usd|gbp|million|"
    r"billion|thousand|m|bn|k|cm|mm|km|kg|g|wh|kwh|w|v|h|hours?|days?|weeks?|months?|years?|"
    r"cycles?|millones|euros?|años?|días?|horas?)(?![\w])))",
    re.IGNORECASE,
)


#: answer types a sentence must show to be quoted. Person and date are detected but
#: not enforced: on XQuAD (bench/xquad_answers.py) requiring a capitalised name for
#: "who" and a date for "when" rejected right sentences ("the Broncos", "that
#: season") and cost 0.6 points of cited gold; a number for "how many" costs 0.1
ENFORCED_TYPES = frozenset({"number"})


@dataclass(frozen=True, slots=True)
class Intent:
    """What an answer sentence must contain to answer the question."""

    answer_type: str = "any"  #: "person" | "number" | "date" | "yes_no" | "any"
    #: each group: alternatives, one of which the sentence must contain
    groups: tuple[tuple[str, re.Pattern[str]], ...] = ()
    #: years the question names; the sentence or its chunk's heading/title must name one
    years: frozenset[str] = field(default_factory=frozenset)
    #: the numbers the question names (for table rows: the row whose range holds them)
    numbers: tuple[float, ...] = ()

    @property
    def key_terms(self) -> tuple[str, ...]:
        """The names of the key-term groups (``role:cfo``, ``finance:net``, ``unit:cm``)."""
        return tuple(name for name, _ in self.groups)

    @property
    def numeric(self) -> bool:
        """Whether the answer is a figure (a number, a date, a finance measure)."""
        return self.answer_type in ("number", "date") or any(
            name.startswith("finance:") for name, _ in self.groups
        )

    @property
    def periodic(self) -> bool:
        """Whether the answer's figure belongs to a period (a finance measure, a year
        asked for): its sentence should say which (see ``with_period``)."""
        return bool(self.years) or any(name.startswith("finance:") for name, _ in self.groups)

    def has_type(self, text: str) -> bool:
        """Whether ``text`` holds something of the expected answer type."""
        kind = self.answer_type
        if kind == "person":
            return bool(_NAME.search(text))
        if kind == "number":
            return bool(_DIGIT.search(text) or _NUMBER_WORD.search(text))
        if kind == "date":
            return bool(_YEAR.search(text) or _MONTH.search(text) or _DIGIT.search(text))
        return True

    def missing(self, text: str, context: str = "") -> list[str]:
        """The key-term groups (and ``type:…``) that ``text`` fails; [] when quotable.

        ``context`` is the chunk's title and section path: a year named there ("FY2025",
        "Highlights of 2025") counts as the sentence's period.
        """
        out = [
            name
            for name, pattern in self.groups
            if not pattern.search(text) and not _in_heading(name, pattern, text, context)
        ]
        if self.years and not any(y in text or y in context for y in self.years):
            out.append("year:" + "|".join(sorted(self.years)))
        if self.answer_type in ENFORCED_TYPES and not self.has_type(text):
            out.append("type:" + self.answer_type)
        return out

    def accepts(self, text: str, context: str = "") -> bool:
        return not self.missing(text, context)


def _in_heading(name: str, pattern: re.Pattern[str], text: str, context: str) -> bool:
    """A finance measure named by the chunk's heading ("Revenue by region") counts for a
    sentence that names no other measure ("Germany contributed EUR 13.6 million")."""
    if not name.startswith("finance:") or not pattern.search(context):
        return False
    return not any(
        other.search(text) for key, other in _FINANCE_RES.items() if f"finance:{key}" != name
    )


def _answer_type(question: str) -> str:
    if _WHO.search(question):
        return "person"
    if _WHEN.search(question):
        return "date"
    if _NUMBER.search(question):
        return "number"
    if _YES_NO.search(question):
        return "yes_no"
    return "any"


def last_question(text: str) -> str:
    """The last question of a text that asks several: a follow-up rewritten with its
    context ("How long is the battery warranty? Does it cover tyres?") asks the last
    one, so that one sets the answer type."""
    parts = [p for p in re.split(r"(?<=\?)\s+", text.strip()) if p.strip()]
    return parts[-1] if parts else text


def question_numbers(question: str) -> tuple[float, ...]:
    """The numbers a question names, years left out ("180 cm" → 180.0)."""
    out: list[float] = []
    for m in re.finditer(r"(?<![\w.,])(\d+(?:[.,]\d+)?)", question):
        raw = m.group(1)
        if _YEAR.fullmatch(raw):
            continue
        out.append(float(raw.replace(",", ".")))
    return tuple(out)


def question_intent(question: str) -> Intent:
    """The :class:`Intent` of ``question`` (English and Spanish rules)."""
    groups: list[tuple[str, re.Pattern[str]]] = []
    for name, pattern in _ROLE_RES.items():
        if pattern.search(question):
            groups.append((f"role:{name}", pattern))
    rest = question
    for name in _FINANCE_ORDER:
        pattern = _FINANCE_RES[name]
        if pattern.search(rest):
            groups.append((f"finance:{name}", pattern))
            rest = pattern.sub(" ", rest)  # "net sales" is one term, not "net" and "sales"
    for m in _UNIT_IN_QUESTION.finditer(question):
        unit = m.group(1).lower()
        for name, pattern in _UNIT_RES.items():
            if pattern.fullmatch(unit) and f"unit:{name}" not in {g for g, _ in groups}:
                groups.append((f"unit:{name}", pattern))
                break
    answer_type = _answer_type(last_question(question))
    if answer_type == "person" and any(g.startswith("finance:") for g, _ in groups):
        answer_type = "number"  # "who had the highest revenue" is rare; the figure is not
    years = frozenset(_YEAR.findall(question))
    return Intent(answer_type, tuple(groups), years, question_numbers(question))
