"""Read and write evaluation datasets: ragline JSONL, BEIR folders and SQuAD JSON.

A ragline dataset is JSONL, one :class:`~ragline.evals.Case` per line; blank lines are
skipped. Every problem is an :class:`~ragline.errors.InputError` naming the file, the
line and the field, e.g. ``cases.jsonl:7: field 'answerable': Input should be a valid
boolean``. Duplicate case ids are an error (a case id is how runs are compared).

BEIR and SQuAD loaders return the corpus as :class:`EvalDocument` records (write them
with :func:`write_documents` and ``ragline ingest corpus.jsonl``: the document ids are
kept, so the cases' ``gold_doc_ids`` match what ragline retrieves) and the questions
as cases.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ragline.errors import InputError
from ragline.evals._types import Case

_HINT = 'fix that line (one JSON object per line, with at least "id" and "question")'


@dataclass(frozen=True, slots=True)
class EvalDocument:
    """One corpus document of a BEIR or SQuAD dataset."""

    id: str
    text: str
    title: str = ""

    def to_record(self) -> dict[str, str]:
        """The JSONL record ``ragline ingest`` reads (``_id``, ``title``, ``text``)."""
        return {"_id": self.id, "title": self.title, "text": self.text}


# ----------------------------------------------------------------- ragline JSONL


def _field_errors(error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(case)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"field {where!r}: {msg}")
    return "; ".join(parts)


def parse_case(line: str, *, where: str) -> Case:
    """One JSONL line → a :class:`Case`; ``where`` (``file:line``) prefixes any error."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{where}: not valid JSON ({e.msg} at column {e.colno})", hint=_HINT
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}", hint=_HINT)
    try:
        return Case.model_validate(data)
    except ValidationError as e:
        raise InputError(f"{where}: {_field_errors(e)}", hint=_HINT) from None


def iter_cases(path: str | os.PathLike[str]) -> Iterator[tuple[int, Case]]:
    """``(line number, case)`` for every non-blank line; does not check duplicate ids."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"dataset {p} does not exist", hint="check the path (a JSONL file of cases)"
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"dataset {p} is a folder", hint="give a JSONL file (or beir:FOLDER for BEIR)"
        ) from None
    except UnicodeDecodeError as e:
        raise InputError(
            f"dataset {p} is not valid UTF-8 (byte {e.start})", hint="save it as UTF-8"
        ) from None
    except OSError as e:
        raise InputError(
            f"cannot read dataset {p}: {e.strerror or e}", hint="check the file's permissions"
        ) from None
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield n, parse_case(line, where=f"{p}:{n}")


def load_cases(path: str | os.PathLike[str]) -> list[Case]:
    """All cases of a JSONL dataset, in file order. Raises :class:`InputError` with
    ``file:line`` on the first invalid line or duplicate id."""
    seen: dict[str, int] = {}
    out: list[Case] = []
    for n, case in iter_cases(path):
        if case.id in seen:
            raise InputError(
                f"{path}:{n}: duplicate case id {case.id!r} (first on line {seen[case.id]})",
                hint="give every case a unique id",
            )
        seen[case.id] = n
        out.append(case)
    return out


def dump_case(case: Case) -> str:
    """One JSONL line (no newline); fields at their default are left out."""
    return case.model_dump_json(exclude_defaults=True)


def _atomic_write(path: Path, write: Any) -> None:
    if path.is_symlink():  # replace the file the link points to, keep the link
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_cases(path: str | os.PathLike[str], cases: Iterable[Case]) -> None:
    """Write ``cases`` as a whole new dataset (atomically; duplicate ids are an error)."""
    items = list(cases)
    _check_unique(items, {})
    _atomic_write(Path(path), lambda f: f.writelines(dump_case(c) + "\n" for c in items))


def append_cases(path: str | os.PathLike[str], cases: Iterable[Case]) -> int:
    """Append ``cases`` to a dataset, creating it (and its folders) when absent.

    All or nothing: the file is rewritten to a temporary file and renamed into place,
    so an interruption leaves the old file intact. An id already in the file (or
    twice in ``cases``) is an :class:`InputError` and nothing is written; so is an
    existing file that does not load. Returns the number of cases appended.
    """
    p = Path(path)
    items = list(cases)
    existing = ""
    seen: dict[str, int] = {}
    if p.exists():
        for n, case in iter_cases(p):
            seen.setdefault(case.id, n)
        existing = p.read_text(encoding="utf-8")
    _check_unique(items, seen, where=str(p))
    if not items:
        return 0
    if existing and not existing.endswith("\n"):
        existing += "\n"

    def write(f: IO[str]) -> None:
        f.write(existing)
        f.writelines(dump_case(c) + "\n" for c in items)

    _atomic_write(p, write)
    return len(items)


def _check_unique(items: Sequence[Case], seen: dict[str, int], *, where: str = "") -> None:
    new: set[str] = set()
    for c in items:
        if c.id in seen:
            raise InputError(
                f"case id {c.id!r} is already in {where} (line {seen[c.id]})",
                hint="give the new case another id",
            )
        if c.id in new:
            raise InputError(f"case id {c.id!r} is given twice", hint="give every case a unique id")
        new.add(c.id)


# ----------------------------------------------------------------- BEIR


def _open_jsonl(folder: Path, name: str) -> tuple[Path, IO[str]]:
    plain, gz = folder / name, folder / f"{name}.gz"
    if plain.is_file():
        return plain, open(plain, encoding="utf-8")
    if gz.is_file():
        return gz, gzip.open(gz, "rt", encoding="utf-8")
    raise InputError(
        f"BEIR folder {folder} has no {name} (or {name}.gz)",
        hint="a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv",
    )


def _jsonl_records(path: Path, f: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    with f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{n}: not valid JSON ({e.msg})", hint=_HINT) from None
            if not isinstance(rec, dict):
                raise InputError(f"{path}:{n}: expected a JSON object", hint=_HINT)
            if not isinstance(rec.get("_id"), str | int) or rec.get("_id") == "":
                raise InputError(f"{path}:{n}: field '_id' is missing", hint=_HINT)
            yield n, rec


def load_beir(
    folder: str | os.PathLike[str], split: str = "test"
) -> tuple[list[EvalDocument], list[Case]]:
    """A BEIR folder → (corpus documents, one case per query that has judgments).

    ``gold_doc_ids`` are the ``qrels/<split>.tsv`` documents with score > 0; queries
    without a positive judgment in the split are left out (as BEIR's evaluation does).
    Cases are retrieval-only: category ``"retrieval"``, tag ``"beir"``.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(
            f"BEIR folder {root} does not exist", hint="give the folder holding corpus.jsonl"
        )
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        raise InputError(
            f"BEIR folder {root} has no qrels/{split}.tsv",
            hint="pick an existing split (qrels/<split>.tsv)",
        )
    gold: dict[str, list[str]] = {}
    for n, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if n == 1 and parts[0] == "query-id":
            continue
        if len(parts) != 3:
            raise InputError(
                f"{qrels_path}:{n}: expected 3 columns (query-id corpus-id score), "
                f"got {len(parts)}",
                hint="fix that line",
            )
        try:
            score = int(float(parts[2]))
        except ValueError:
            raise InputError(f"{qrels_path}:{n}: score {parts[2]!r} is not a number") from None
        ids = gold.setdefault(parts[0], [])
        if score > 0 and parts[1] not in ids:
            ids.append(parts[1])

    path, f = _open_jsonl(root, "queries.jsonl")
    cases: list[Case] = []
    for _, rec in _jsonl_records(path, f):
        qid = str(rec["_id"])
        if not gold.get(qid):
            continue
        cases.append(
            Case(
                id=qid,
                question=str(rec.get("text", "")) or qid,
                gold_doc_ids=gold[qid],
                category="retrieval",
                tags=["beir"],
            )
        )
    path, f = _open_jsonl(root, "corpus.jsonl")
    docs = [
        EvalDocument(
            id=str(rec["_id"]), text=str(rec.get("text", "")), title=str(rec.get("title") or "")
        )
        for _, rec in _jsonl_records(path, f)
    ]
    return docs, cases


# ----------------------------------------------------------------- SQuAD


def squad_doc_id(title: str, context: str) -> str:
    """The stable document id of a SQuAD paragraph: title + a hash of its text."""
    digest = hashlib.sha256(context.encode("utf-8")).hexdigest()[:12]
    return f"{title or 'squad'}#{digest}"


def load_squad(path: str | os.PathLike[str]) -> tuple[list[EvalDocument], list[Case]]:
    """SQuAD-format JSON (v1.1 or v2.0) → (one document per paragraph, one case per question).

    A case's ``expected`` are the distinct gold answer texts, ``answerable`` is
    ``not is_impossible``, and ``gold_doc_ids`` is its paragraph (none for an
    unanswerable question). Identical paragraphs share one document.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"SQuAD file {p} does not exist", hint="check the path") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"SQuAD file {p} is not valid JSON ({e})", hint="check the file") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(
            f"{p}: no top-level 'data' list",
            hint="SQuAD JSON is {'data': [{'title', 'paragraphs'}]}",
        )
    docs: dict[str, EvalDocument] = {}
    cases: list[Case] = []
    seen: set[str] = set()
    for a, article in enumerate(data["data"]):
        title = str(article.get("title", "")) if isinstance(article, dict) else ""
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise InputError(f"{p}: data[{a}] has no 'paragraphs' list", hint="check the file")
        for i, para in enumerate(paragraphs):
            where = f"{p}: data[{a}].paragraphs[{i}]"
            if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                raise InputError(f"{where}: field 'context' is missing", hint="check the file")
            context = para["context"]
            doc_id = squad_doc_id(title, context)
            docs.setdefault(doc_id, EvalDocument(id=doc_id, text=context, title=title))
            for j, qa in enumerate(para.get("qas") or []):
                qwhere = f"{where}.qas[{j}]"
                if not isinstance(qa, dict) or not qa.get("question"):
                    raise InputError(
                        f"{qwhere}: field 'question' is missing", hint="check the file"
                    )
                qid = str(qa.get("id") or f"{doc_id}/{j}")
                if qid in seen:
                    raise InputError(
                        f"{qwhere}: duplicate question id {qid!r}", hint="check the file"
                    )
                seen.add(qid)
                impossible = bool(qa.get("is_impossible", False))
                answers = [
                    str(x["text"])
                    for x in (qa.get("answers") or [])
                    if isinstance(x, dict) and x.get("text")
                ]
                cases.append(
                    Case(
                        id=qid,
                        question=str(qa["question"]),
                        expected=list(dict.fromkeys(answers)) if not impossible else [],
                        gold_doc_ids=[] if impossible else [doc_id],
                        answerable=not impossible,
                        category="factual_accuracy",
                        tags=["squad"],
                    )
                )
    return list(docs.values()), cases


def write_documents(path: str | os.PathLike[str], documents: Iterable[EvalDocument]) -> Path:
    """Write documents as JSONL (``_id``, ``title``, ``text``) for ``ragline ingest``."""
    p = Path(path)
    _atomic_write(
        p,
        lambda f: f.writelines(
            json.dumps(d.to_record(), ensure_ascii=False) + "\n" for d in documents
        ),
    )
    return p


__all__ = [
    "EvalDocument",
    "append_cases",
    "dump_case",
    "iter_cases",
    "load_beir",
    "load_cases",
    "load_squad",
    "parse_case",
    "save_cases",
    "squad_doc_id",
    "write_documents",
]
