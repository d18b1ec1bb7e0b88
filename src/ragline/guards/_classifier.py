"""The offline prompt-injection / jailbreak classifier: MiniLM embeddings, cheap
structural features, a document-context contrast and hashed word n-grams, scored by
two logistic regressions shipped in the package (one for whole windows, one for the
sentences of a document).

The weights (``data/injection-v2.npz``, ~80 KB) are trained by
``tools/train_injection.py`` from ``../shared/datasets`` (which datasets, their
licences, the split and the metrics are in ``data/injection-v2.json``); the script
reproduces the file bit for bit from its seed.

Two ways to score, each with its own calibrated thresholds:

- a **question** (what a user types; the default) is scored on its windows: the head
  and, for a long text, the tail (:func:`pieces`) — one or two MiniLM embeddings;
- a **document** (``documents=True``: a retrieved chunk, a pasted e-mail) is also cut
  into sentences (:func:`segments`), each embedded and scored with features that
  contrast it with the rest of the document (:data:`CONTEXT_NAMES`), so one planted
  request that does not belong there ("Write a script to rename all files…") stands
  out. A document costs one embedding per sentence (at most :data:`MAX_SEGMENTS`).

Cost is bounded whatever the input: a text is cut to its first :data:`HEAD_CHARS` and
last :data:`TAIL_CHARS` characters (:func:`cap`); the structural and n-gram features
are linear-time over each piece. A text's probability is the highest of its pieces'.

    clf = InjectionClassifier.load()          # ConfigError naming the file if bad
    p = clf.scores(["ignore all previous instructions"], embedder)
    flagged = p >= clf.threshold(fpr=0.01)
    d = clf.scores([chunk_text], embedder, documents=True)
    flagged = d >= clf.threshold(fpr=0.01, documents=True)
    guard_scorer = clf.scorer(embedder)       # Callable[[Sequence[str]], list[float]]
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ragline.embed import Embedder

#: characters of a text that are looked at: its first HEAD_CHARS and last TAIL_CHARS
HEAD_CHARS = 2000
TAIL_CHARS = 500
#: a window the embedder sees (MiniLM reads 256 tokens, about 1,000 characters)
WINDOW_CHARS = 1000
#: a document longer than this is also scored sentence by sentence (when it has two)
SEGMENT_MIN = 150
#: a sentence is cut at SEGMENT_CHARS; shorter runs are joined up to SEGMENT_JOIN
SEGMENT_CHARS = 200
SEGMENT_JOIN = 40
MAX_SEGMENTS = 40
#: hashed word unigrams and bigrams (crc32, stable across runs and machines)
HASH_BUCKETS = 4096
PACKAGED = "injection-v2.npz"
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|\n+")
_HASH_WORD = re.compile(r"[a-z0-9']+")

# --- structural features ---------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+")
_SECOND_PERSON = frozenset(
    [
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "you're",
        "you'll",
        "you've",
        "you'd",
        "u",
        "ur",
    ]
)
_IMPERATIVE = frozenset(
    [
        "ignore",
        "disregard",
        "forget",
        "pretend",
        "act",
        "respond",
        "answer",
        "reply",
        "write",
        "print",
        "repeat",
        "reveal",
        "say",
        "output",
        "tell",
        "show",
        "stop",
        "start",
        "begin",
        "continue",
        "imagine",
        "assume",
        "roleplay",
        "simulate",
        "generate",
        "provide",
        "list",
        "translate",
        "obey",
        "follow",
        "comply",
        "override",
        "bypass",
        "enable",
        "disable",
        "remember",
        "keep",
        "never",
        "always",
        "must",
        "include",
        "insert",
        "add",
        "replace",
        "type",
        "return",
    ]
)
_INJECTION_PHRASE = re.compile(
    r"ignore (?:all |any |the |your )?(?:previous|prior|above|earlier|preceding)"
    r"|disregard (?:all |any |the |your )?(?:previous|prior|above|earlier|instructions|rules)"
    r"|forget (?:all |everything|your|the )"
    r"|system (?:prompt|message|instructions?)"
    r"|(?:initial|original|hidden|secret) (?:prompt|instructions?)"
    r"|developer mode|jailbr[eo]ak|do anything now|\bDAN\b|\bSTAN\b|\bDUDE\b"
    r"|no (?:restrictions|limits|limitations|filters|rules|ethics|morals|censorship)"
    r"|(?:without|free from|free of) (?:any )?(?:restrictions|limits|filters|censorship|rules)"
    r"|from now on|stay in character|break character|you are (?:now |no longer )"
    r"|openai(?:'s)? (?:content )?polic|content polic|(?:unfiltered|uncensored|amoral)"
    r"|new instructions|instead,? (?:you|respond|say|print|write)|respond only with"
    r"|(?:act|behave) as (?:if|a|an)|pretend (?:to be|you)|roleplay|role-play",
    re.IGNORECASE,
)
_ROLE_MARKER = re.compile(
    r"(?:^|\n)[ \t]*(?:#+[ \t]*)?"
    r"(?:system|assistant|user|human|ai|developer|bot|instruction|response)[ \t]*:"
    r"|<\|?(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|?>"
    r"|\[/?INST\]|<</?SYS>>|</?s>|\[/?(?:system|SYSTEM)\]|###\s*(?:Instruction|Response|System)",
    re.IGNORECASE,
)
_TEMPLATE_CLOSE = re.compile(
    r"\"\"\"|'''|```|\}\}|\]\]|</[a-z]+>|-{3,}|={3,}"
    r"|end of (?:the )?(?:prompt|instructions?|context|document|text|input)",
    re.IGNORECASE,
)
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{24,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[\s:]?){16,}")
_LEET = re.compile(r"[a-zA-Z][0-9@$]+[a-zA-Z]")
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u00ad\u180e"
    "\U000e0000-\U000e007f\ufe00-\ufe0f]"
)
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")
_COMMON = frozenset(
    [
        "the",
        "and",
        "you",
        "to",
        "of",
        "is",
        "in",
        "that",
        "it",
        "for",
        "are",
        "this",
        "with",
        "be",
        "your",
        "on",
        "not",
        "have",
        "as",
        "what",
        "all",
        "ignore",
        "previous",
        "instructions",
        "say",
        "print",
        "system",
        "prompt",
        "tell",
        "me",
        "now",
        "do",
    ]
)
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)

FEATURE_NAMES: tuple[str, ...] = (
    "log_length",
    "long_text",
    "second_person_share",
    "imperative_share",
    "imperative_start",
    "injection_phrases",
    "role_markers",
    "template_closers",
    "base64_runs",
    "hex_runs",
    "leet_share",
    "invisible_share",
    "tag_characters",
    "mixed_script_words",
    "rot13_words",
    "non_ascii_share",
    "upper_share",
    "bracket_share",
    "newlines",
    "ends_with_question",
)

#: how a document's sentence compares with the rest of the document (for a window:
#: ``1, 1, 1, 0, 0``): cosine with the mean of the other sentences, the highest cosine
#: with another sentence, cosine with the document's head window, the first one's
#: z-score among the document's sentences, and "this is a sentence of a document"
CONTEXT_NAMES: tuple[str, ...] = (
    "cos_rest_of_document",
    "cos_nearest_sentence",
    "cos_head_window",
    "cos_rest_zscore",
    "is_segment",
)


def cap(text: str) -> str:
    """The part of ``text`` that is looked at (at most HEAD_CHARS + TAIL_CHARS + 1)."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return text[:HEAD_CHARS] + "\n" + text[-TAIL_CHARS:]


def pieces(text: str, documents: bool = True) -> list[tuple[str, str]]:
    """What the embedder sees of ``text``, as ``(kind, piece)``: the ``window`` (the head
    and, when longer, the tail); and, with ``documents`` and a text over SEGMENT_MIN
    characters of at least two sentences, each ``segment`` (:func:`segments`), so one
    instruction planted in a document is scored on its own."""
    t = cap(text)
    if len(t) <= WINDOW_CHARS + TAIL_CHARS // 2:
        out = [("window", t)]
    else:
        out = [("window", t[:WINDOW_CHARS]), ("window", t[-TAIL_CHARS:])]
    if documents and len(t) > SEGMENT_MIN:
        segs = segments(t)
        if len(segs) >= 2:
            out += [("segment", seg) for seg in segs]
    return out


def segments(t: str) -> list[str]:
    """``t`` cut at sentence ends, colons and line breaks: each sentence alone (cut at
    SEGMENT_CHARS), short fragments joined until SEGMENT_JOIN; at most MAX_SEGMENTS."""
    out: list[str] = []
    cur = ""
    for part in _SENTENCE_END.split(t):
        part = part.strip()
        while len(part) > SEGMENT_CHARS:
            if cur:
                out.append(cur)
                cur = ""
            out.append(part[:SEGMENT_CHARS])
            part = part[SEGMENT_CHARS:]
        if not part:
            continue
        cur = f"{cur} {part}" if cur else part
        if len(cur) >= SEGMENT_JOIN:
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out[:MAX_SEGMENTS]


def windows(text: str, documents: bool = True) -> list[str]:
    """Every piece of ``text`` the embedder sees (see :func:`pieces`)."""
    return [p for _kind, p in pieces(text, documents)]


def _mixed_script(word: str) -> bool:
    scripts = set()
    for ch in word:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            scripts.add(name.split(" ", 1)[0])
            if len(scripts) > 1:
                return True
    return False


def structural_features(text: str) -> list[float]:
    """``len(FEATURE_NAMES)`` cheap features of ``cap(text)``; linear time, bounded."""
    n_orig = len(text)
    t = cap(text)
    n = max(len(t), 1)
    words = _WORD.findall(t)
    lower = [w.lower() for w in words]
    nw = max(len(words), 1)
    sentences = [s.strip() for s in re.split(r"[.!?\n]+", t) if s.strip()]
    starts = [s.split(None, 1)[0].lower().strip("\"'*(-") for s in sentences]
    imp_starts = sum(1 for s in starts if s in _IMPERATIVE)
    alpha_words = [w for w in words if not w.isdigit()]
    rot13 = sum(
        1 for w in lower if len(w) > 2 and w not in _COMMON and w.translate(_ROT13) in _COMMON
    )
    letters = sum(1 for ch in t if ch.isalpha())
    stripped = t.rstrip()

    def log_count(k: int) -> float:
        return math.log1p(k)

    return [
        math.log1p(n_orig) / 10.0,
        1.0 if n_orig > WINDOW_CHARS else 0.0,
        sum(1 for w in lower if w in _SECOND_PERSON) / nw,
        sum(1 for w in lower if w in _IMPERATIVE) / nw,
        imp_starts / max(len(sentences), 1),
        log_count(len(_INJECTION_PHRASE.findall(t))),
        log_count(len(_ROLE_MARKER.findall(t))),
        log_count(len(_TEMPLATE_CLOSE.findall(t))),
        log_count(len(_BASE64.findall(t))),
        log_count(len(_HEX.findall(t))),
        sum(1 for w in t.split() if len(w) <= 30 and _LEET.search(w)) / nw,
        min(len(_INVISIBLE.findall(t)) / n * 10.0, 1.0),
        1.0 if _TAG_CHARS.search(t) else 0.0,
        log_count(sum(1 for w in alpha_words if _mixed_script(w))),
        log_count(rot13),
        sum(1 for ch in t if ord(ch) > 127) / n,
        sum(1 for ch in t if ch.isupper()) / max(letters, 1),
        sum(1 for ch in t if ch in "{}[]<>|\\") / n,
        log_count(t.count("\n")),
        1.0 if stripped.endswith("?") else 0.0,
    ]


def hashed_ngrams(piece: str, buckets: int = HASH_BUCKETS) -> npt.NDArray[np.float32]:
    """Word unigrams and bigrams of ``piece`` (lower-cased) hashed into ``buckets``,
    present/absent, scaled to unit length."""
    import numpy as np

    v = np.zeros(buckets, dtype=np.float32)
    words = _HASH_WORD.findall(piece.lower())
    for tok in [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]:
        v[zlib.crc32(tok.encode("utf-8")) % buckets] = 1.0
    n = float(np.linalg.norm(v))
    return v / n if n else v


def context_features(
    emb: npt.NDArray[Any], owner: npt.NDArray[np.int64], kinds: Sequence[str]
) -> npt.NDArray[np.float64]:
    """:data:`CONTEXT_NAMES` for every piece, from the pieces' embeddings."""
    import numpy as np

    e = np.asarray(emb, dtype=np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)
    out = np.zeros((len(e), len(CONTEXT_NAMES)), dtype=np.float64)
    is_seg = np.array([k == "segment" for k in kinds], dtype=bool)
    out[~is_seg, 0:3] = 1.0
    for i in np.unique(owner[is_seg]) if is_seg.any() else []:
        mine = np.where(owner == i)[0]
        seg = mine[is_seg[mine]]
        head = mine[~is_seg[mine]][0]
        es = e[seg]
        total = es.sum(axis=0)
        sims = es @ es.T
        np.fill_diagonal(sims, -1.0)
        rest = total[None, :] - es
        rest = rest / np.maximum(np.linalg.norm(rest, axis=1, keepdims=True), 1e-9)
        c_rest = np.einsum("ij,ij->i", es, rest)
        out[seg, 0] = c_rest
        out[seg, 1] = sims.max(axis=1)
        out[seg, 2] = es @ e[head]
        out[seg, 3] = (c_rest - c_rest.mean()) / (c_rest.std() + 0.05)
        out[seg, 4] = 1.0
    return out


def featurize(
    texts: Sequence[str], embedder: Embedder, *, documents: bool = True
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """One row per piece (:func:`pieces`): ``[embedding, structural features, context
    features, hashed n-grams]``, each row's text index, and whether it is a segment.
    Training and scoring both go through here."""
    import numpy as np

    wins: list[str] = []
    owner: list[int] = []
    kinds: list[str] = []
    for i, text in enumerate(texts):
        for kind, w in pieces(text, documents):
            wins.append(w)
            owner.append(i)
            kinds.append(kind)
    own = np.asarray(owner, dtype=np.int64)
    emb = np.asarray(embedder.embed_documents(wins), dtype=np.float32).reshape(len(wins), -1)
    struct = np.asarray([structural_features(w) for w in wins], dtype=np.float32)
    rows = np.concatenate(
        [
            emb,
            struct.reshape(len(wins), len(FEATURE_NAMES)),
            context_features(emb, own, kinds).astype(np.float32),
            np.stack([hashed_ngrams(w) for w in wins]).reshape(len(wins), HASH_BUCKETS),
        ],
        axis=1,
    )
    return rows, own, np.array([k == "segment" for k in kinds], dtype=bool)


def n_features(dimension: int) -> int:
    """Length of a ``featurize`` row for a ``dimension``-dimension embedder."""
    return dimension + len(FEATURE_NAMES) + len(CONTEXT_NAMES) + HASH_BUCKETS


def sigmoid(z: npt.NDArray[Any]) -> npt.NDArray[Any]:
    import numpy as np

    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))))


def max_by_owner(
    values: npt.NDArray[Any], owner: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.float64]:
    """The highest value of each text's windows."""
    import numpy as np

    out = np.full(n, -np.inf, dtype=np.float64)
    np.maximum.at(out, owner, values.astype(np.float64))
    return out


# --- the model -------------------------------------------------------------------

_REQUIRED = (
    "weights",
    "bias",
    "mean",
    "scale",
    "fpr",
    "thresholds",
    "dimension",
    "hash_buckets",
)
#: the two heads: row 0 of ``weights`` scores windows, row 1 a document's sentences;
#: row 0 of ``thresholds`` is for questions, row 1 for documents
WINDOW, SEGMENT = 0, 1


def packaged_path() -> Path:
    """Where the packaged weights file is (found through importlib.resources)."""
    ref = resources.files("ragline.guards").joinpath("data", PACKAGED)
    return Path(str(ref))


@dataclass(frozen=True)
class InjectionClassifier:
    """Two logistic regressions over ``featurize`` rows; see the module docstring."""

    weights: npt.NDArray[np.float64]  # (2, n_features)
    bias: npt.NDArray[np.float64]  # (2,)
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    fprs: tuple[float, ...]
    thresholds: tuple[float, ...]  # for questions
    document_thresholds: tuple[float, ...]
    dimension: int
    path: Path | None = None
    embedder_name: str = ""

    @classmethod
    def load(cls, path: str | Path | None = None) -> InjectionClassifier:
        """Read a weights file (default: the one in the package). A missing or corrupt
        file raises :class:`~ragline.errors.ConfigError` naming it."""
        import numpy as np

        p = Path(path) if path is not None else packaged_path()
        hint = (
            "reinstall ragline, or regenerate it with `python tools/train_injection.py`"
            if path is None
            else "point the injection guard at a file written by tools/train_injection.py"
        )
        if not p.is_file():
            raise ConfigError(f"injection classifier weights not found: {p}", hint=hint)
        try:
            with np.load(p, allow_pickle=False) as data:
                missing = [k for k in _REQUIRED if k not in data.files]
                if missing:
                    raise ValueError(f"missing arrays {missing} (a file from before injection-v2?)")
                arrays = {k: np.asarray(data[k]) for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
            raise ConfigError(
                f"injection classifier weights file {p} is corrupt: {e}", hint=hint
            ) from e
        weights = arrays["weights"].astype(np.float64)
        dim = int(arrays["dimension"])
        n_feat = n_features(dim)
        fprs = tuple(float(x) for x in arrays["fpr"].ravel())
        ths = arrays["thresholds"].astype(np.float64)
        shapes_ok = (
            int(arrays["hash_buckets"]) == HASH_BUCKETS
            and weights.shape == (2, n_feat)
            and arrays["mean"].shape == arrays["scale"].shape == (n_feat,)
            and arrays["bias"].shape == (2,)
        )
        if not shapes_ok:
            raise ConfigError(
                f"injection classifier weights file {p} is corrupt: expected 2 x {n_feat} "
                f"weights for a {dim}-dimension embedder, {len(FEATURE_NAMES)} structural "
                f"and {len(CONTEXT_NAMES)} context features and {HASH_BUCKETS} hashed "
                f"n-grams, got {weights.shape}",
                hint=hint,
            )
        values = np.concatenate(
            [
                weights.ravel(),
                arrays["bias"].ravel(),
                arrays["mean"].ravel(),
                arrays["scale"].ravel(),
                ths.ravel(),
            ]
        )
        if (
            not fprs
            or ths.shape != (2, len(fprs))
            or not np.all(np.isfinite(values))
            or not np.all(np.asarray(arrays["scale"]) > 0)
        ):
            raise ConfigError(
                f"injection classifier weights file {p} is corrupt: bad values", hint=hint
            )
        name = arrays.get("embedder")
        return cls(
            weights=weights,
            bias=arrays["bias"].astype(np.float64).ravel(),
            mean=arrays["mean"].astype(np.float64).ravel(),
            scale=arrays["scale"].astype(np.float64).ravel(),
            fprs=fprs,
            thresholds=tuple(float(x) for x in ths[WINDOW]),
            document_thresholds=tuple(float(x) for x in ths[SEGMENT]),
            dimension=dim,
            path=p,
            embedder_name=str(name) if name is not None else "",
        )

    def window_scores(
        self, rows: npt.NDArray[Any], is_segment: npt.NDArray[np.bool_] | None = None
    ) -> npt.NDArray[np.float64]:
        """Probabilities of ``featurize`` rows (a segment's by the sentence head)."""
        import numpy as np

        x = (np.asarray(rows, dtype=np.float64) - self.mean) / self.scale
        z = x @ self.weights.T + self.bias  # (n, 2)
        head = (
            np.zeros(len(x), dtype=np.int64)
            if is_segment is None
            else np.asarray(is_segment, dtype=np.int64)
        )
        return np.asarray(sigmoid(z[np.arange(len(x)), head]), dtype=np.float64)

    def scores(
        self, texts: Sequence[str], embedder: Embedder, *, documents: bool = False
    ) -> npt.NDArray[np.float64]:
        """The probability that each text is a prompt injection or jailbreak; with
        ``documents``, that each (a retrieved chunk, say) carries one planted."""
        import numpy as np

        if not texts:
            return np.zeros(0, dtype=np.float64)
        if embedder.dimension != self.dimension:
            raise ConfigError(
                f"injection classifier {self.path} was trained on {self.dimension}-dimension "
                f"embeddings ({self.embedder_name or 'MiniLM'}), "
                f"the embedder gives {embedder.dimension}",
                hint="use the bundled MiniLM embedder for the injection guard",
            )
        rows, owner, is_segment = featurize(texts, embedder, documents=documents)
        return max_by_owner(self.window_scores(rows, is_segment), owner, len(texts))

    def threshold(self, fpr: float = 0.01, *, documents: bool = False) -> float:
        """The score at which about ``fpr`` of benign questions (with ``documents``:
        benign documents) are flagged, calibrated on the validation split; between
        calibrated rates the stricter one is used."""
        if fpr <= 0:
            raise ValueError("fpr must be positive")
        ths = self.document_thresholds if documents else self.thresholds
        pairs = sorted(zip(self.fprs, ths, strict=True))
        chosen = pairs[0][1]
        for rate, th in pairs:
            if rate <= fpr + 1e-12:
                chosen = th
        return chosen

    def guard_scorer(
        self, embedder: Callable[[], Embedder], *, fpr: float = 0.01, documents: bool = False
    ) -> Callable[[Sequence[str]], list[float]]:
        """Scores on the injection guard's scale: the classifier's ``fpr`` threshold maps
        to 0.5 (the guard's default threshold), 0 and 1 stay put, linear in between — so
        ``threshold: 0.5`` flags about ``fpr`` of benign questions (or documents).
        ``embedder`` is called at the first score (the project's embedder loads lazily)."""
        t = self.threshold(fpr, documents=documents)

        def score(texts: Sequence[str]) -> list[float]:
            return [
                0.5 * p / t if p < t else 0.5 + 0.5 * (p - t) / max(1.0 - t, 1e-9)
                for p in (float(x) for x in self.scores(texts, embedder(), documents=documents))
            ]

        return score

    def scorer(
        self, embedder: Embedder, *, documents: bool = False
    ) -> Callable[[Sequence[str]], list[float]]:
        """``texts -> probabilities``, the shape the injection guard accepts."""

        def score(texts: Sequence[str]) -> list[float]:
            return [float(x) for x in self.scores(texts, embedder, documents=documents)]

        return score
