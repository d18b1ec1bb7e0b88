"""A tenant's ``languages`` at document level: chunk and document language, no mixed text.

The knowledge base: an English guide, a Spanish guide, a Spanish guide with a chunk
of untranslated English (detected English on its own), and an English guide with a
chunk half in Spanish. Each store (memory, SQLite, PostgreSQL) must keep Spanish text
out of an English-only tenant's hits, and English text out of a Spanish-only tenant's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragline.config import IngestSettings, Settings
from ragline.embed._hash import HashEmbedder
from ragline.ingest import Ingestor, LanguageDetector, _pipeline
from ragline.ingest._enrich import DOC_LANGUAGE_KEY, MIXED_LANGUAGES_KEY, prose_segments
from ragline.retrieve import Retriever
from ragline.store import MemoryStore, Store
from ragline.trace._tracer import Span, Tracer

EN_GUIDE = """# Charging guide

## Charging the battery

Connect the charger to the port under the saddle and wait until the light turns green.
A full charge of the battery takes about four hours with the standard charger supplied.

## Storing the battery

Store the battery in a dry place between ten and twenty five degrees. Charge the battery
to half before storing it for the winter, and check the charge level every month.

## Cleaning the frame

Clean the frame with a soft cloth and mild soap. Never point a pressure washer at the
motor, the battery contacts or the display, because water can get into the connectors.

## Mixed notice about the warranty

The warranty covers the battery for two years from the date of delivery to the customer.
Send the receipt with any claim so that the dealer can check the date of purchase.
La garantía cubre la batería durante dos años desde la fecha de entrega al cliente.
Envíe el recibo con cualquier reclamación para que el distribuidor compruebe la fecha.
"""

ES_GUIDE = """# Guía de carga

## Cargar la batería

Conecte el cargador al puerto situado bajo el sillín y espere hasta que la luz se ponga
verde. Una carga completa de la batería tarda unas cuatro horas con el cargador estándar.

## Guardar la batería

Guarde la batería en un lugar seco entre diez y veinticinco grados. Cargue la batería a
la mitad antes de guardarla durante el invierno y revise el nivel de carga cada mes.

## Aviso de seguridad

No abra nunca la batería ni intente repararla usted mismo. Si la carcasa está dañada,
deje de usarla y llévela a su distribuidor, que la revisará sin coste durante la garantía.
Never open the battery or try to repair it yourself, because the cells can catch fire.
If the housing is damaged, stop using the battery and take it to your dealer at once.
"""

ES_WITH_ENGLISH = """# Actualización del firmware

## Preparar la actualización

Antes de actualizar el firmware, cargue la batería por completo y conecte la bicicleta
al ordenador con el cable original. No desconecte el cable durante la actualización.
Compruebe también que el ordenador tiene conexión a la red eléctrica, porque si se
apaga a mitad de la actualización habrá que repetir todo el proceso desde el principio.
Guarde una copia de la configuración de la pantalla, ya que la actualización la borra.

## Firmware update notes

Firmware update for the charger and the battery management system: connect the charger,
run the update tool, and wait until the battery light blinks green three times. Do not
unplug the charger while the battery firmware is being written, or the battery may lock.
If the update stops halfway, leave the battery connected, restart the update tool and
choose the recovery option; the tool writes the previous firmware back before it tries
the new version again. The whole update takes about ten minutes for the battery.

## Después de la actualización

Después de la actualización, la bicicleta se reinicia sola. Compruebe en la pantalla que
la versión del firmware es la nueva y que la batería muestra el nivel de carga correcto.
Si la pantalla muestra un error, apague la bicicleta, espere un minuto y vuelva a
encenderla. Si el error continúa, lleve la bicicleta a su distribuidor con el recibo.
"""

QUERIES = [
    "charging the battery with the charger",
    "cargar la batería con el cargador",
    "battery firmware update charger",
    "warranty battery two years delivery",
    "storing the battery in winter",
    "guardar la batería en invierno",
]

DETECTOR = LanguageDetector(["en", "es"])


def text_languages(text: str) -> set[str]:
    """The languages of a text's prose sentences, judged one by one."""
    return {lang for lang in DETECTOR.detect_many(prose_segments(text)) if lang}


def write_kb(root: Path) -> Path:
    kb = root / "kb"
    kb.mkdir()
    (kb / "charging-guide.md").write_text(EN_GUIDE, encoding="utf-8")
    (kb / "guia-de-carga.md").write_text(ES_GUIDE, encoding="utf-8")
    (kb / "actualizacion-firmware.md").write_text(ES_WITH_ENGLISH, encoding="utf-8")
    return kb


def ingest_settings() -> IngestSettings:
    return IngestSettings.model_validate(
        {"chunk_size": 800, "chunk_overlap": 0, "languages": ["en", "es"]}
    )


def retriever(store: Store, **tenants: dict[str, Any]) -> Retriever:
    settings = Settings.model_validate({"ingest": {"languages": ["en", "es"]}, "tenants": tenants})
    return Retriever(store, HashEmbedder(64), settings)


def _memory(_: Path) -> Iterator[Store]:
    yield MemoryStore()


def _sqlite(tmp: Path) -> Iterator[Store]:
    from ragline.store import SQLiteStore

    store = SQLiteStore(tmp / "kb.db")
    try:
        yield store
    finally:
        store.close()


def _postgres(_: Path) -> Iterator[Store]:
    # ragline.testing's server, not tests/store's helpers: `pytest` (the README's
    # command) does not put the repository root on sys.path, so `tests.store` is not
    # importable from here
    for module in ("psycopg", "psycopg_pool", "pgserver"):
        pytest.importorskip(module, reason="PostgreSQL tests need pip install -e '.[dev]'")
    from ragline.store import PostgresStore
    from ragline.testing._postgres import TempPostgres

    server = TempPostgres().start()
    try:
        store = PostgresStore(str(server.create_database("language_scope")))
        try:
            yield store
        finally:
            store.close()
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgres"])
def kb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    tmp = tmp_path_factory.mktemp(f"lang-{request.param}")
    make = {"memory": _memory, "sqlite": _sqlite, "postgres": _postgres}[request.param]
    for store in make(tmp):
        kb_dir = write_kb(tmp)
        Ingestor(store, HashEmbedder(64), ingest_settings(), project_dir=tmp).ingest(
            [kb_dir], tenant="acme"
        )
        yield store


def all_hits(r: Retriever, tenant: str = "acme") -> list[Any]:
    return [h for q in QUERIES for h in r.search(q, tenant=tenant, k=20).hits]


def test_documents_and_chunks_get_languages(kb: Store) -> None:
    docs = {d.source.rsplit("/", 1)[-1]: d for d in kb.list_documents("acme")}
    assert docs["charging-guide.md"].language == "en"
    assert docs["guia-de-carga.md"].language == "es"
    assert docs["actualizacion-firmware.md"].language == "es"
    firmware = kb.document_chunks("acme", docs["actualizacion-firmware.md"].id)
    english = [c for c in firmware if "Firmware update for the charger" in c.text]
    assert english and english[0].language == "en"  # on its own it is English text
    assert all(c.metadata[DOC_LANGUAGE_KEY] == "es" for c in firmware)
    guide = kb.document_chunks("acme", docs["charging-guide.md"].id)
    mixed = [c for c in guide if MIXED_LANGUAGES_KEY in c.metadata]
    assert [c.metadata[MIXED_LANGUAGES_KEY] for c in mixed] == [["en", "es"]]
    assert "La garantía" in mixed[0].text
    # a product name, a command or a number in a sentence does not make a chunk mixed
    assert all("La garantía" in c.text for c in mixed)


def test_english_only_tenant_never_gets_spanish_text(kb: Store) -> None:
    hits = all_hits(retriever(kb, acme={"languages": ["en"]}))
    assert hits, "English questions still find the English guide"
    assert {h.chunk.source.rsplit("/", 1)[-1] for h in hits} == {"charging-guide.md"}
    assert all(text_languages(h.chunk.text) == {"en"} for h in hits)


def test_spanish_only_tenant_never_gets_english_text(kb: Store) -> None:
    hits = all_hits(retriever(kb, acme={"languages": ["es"]}))
    assert hits
    assert all(text_languages(h.chunk.text) <= {"es"} for h in hits)
    assert any(text_languages(h.chunk.text) == {"es"} for h in hits)


def test_chunk_scope_lets_foreign_documents_and_mixed_chunks_through(kb: Store) -> None:
    """What the document-level check prevents: with `language_scope: chunk` an English
    tenant gets the English chunk of a Spanish document, and a Spanish tenant the
    half-English chunk (lingua calls the whole of it Spanish)."""
    en = all_hits(retriever(kb, acme={"languages": ["en"], "language_scope": "chunk"}))
    assert "actualizacion-firmware.md" in {h.chunk.source.rsplit("/", 1)[-1] for h in en}
    es = all_hits(retriever(kb, acme={"languages": ["es"], "language_scope": "chunk"}))
    assert any("en" in text_languages(h.chunk.text) for h in es)


def test_both_languages_allowed_keeps_mixed_chunks(kb: Store) -> None:
    hits = all_hits(retriever(kb, acme={"languages": ["en", "es"]}))
    assert any(MIXED_LANGUAGES_KEY in h.chunk.metadata for h in hits)


def probe(kb: Store, language: str, query: str) -> dict[str, Any]:
    spans: list[Span] = []
    r = retriever(kb, acme={"languages": [language]})
    with Tracer(spans.append).span("ask", root=True, tenant="acme"):
        r.search(query, tenant="acme")
    (sp,) = [s for s in spans if s.name == "ragline.retrieve"]
    return dict(sp.attributes)


def test_retrieval_span_counts_what_the_language_filter_excluded(kb: Store) -> None:
    en = probe(kb, "en", "battery firmware update charger")
    assert en["ragline.language.excluded.chunk"] >= 1  # the Spanish chunks
    assert en["ragline.language.excluded.doc"] == 1  # English text in a Spanish document
    es = probe(kb, "es", "battery dealer damaged housing repair")
    assert es["ragline.language.excluded.chunk"] >= 1  # the English chunks
    assert es["ragline.language.excluded.mixed"] == 1  # the half-English safety notice
    for a in (en, es):
        excluded = sum(a[f"ragline.language.excluded.{r}"] for r in ("chunk", "doc", "mixed"))
        assert a["ragline.language.probed"] >= excluded


def test_reingest_after_upgrade_recomputes_languages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb_dir = write_kb(tmp_path)
    store = MemoryStore()
    # what an older ragline wrote: same files, no document language on chunks, no marker
    monkeypatch.setattr(_pipeline, "PIPELINE_VERSION", "3")
    Ingestor(store, HashEmbedder(64), ingest_settings(), project_dir=tmp_path).ingest(
        [kb_dir], tenant="acme"
    )
    stripped = {}
    for d in store.list_documents("acme"):
        for c in store.document_chunks("acme", d.id):
            stripped[c.id] = {
                k: v
                for k, v in c.metadata.items()
                if k not in (DOC_LANGUAGE_KEY, MIXED_LANGUAGES_KEY)
            }
    store.update_chunk_metadata("acme", stripped)
    monkeypatch.undo()
    again = Ingestor(store, HashEmbedder(64), ingest_settings(), project_dir=tmp_path)
    report = again.ingest([kb_dir], tenant="acme")
    assert report.totals()["updated"] == 3, report
    chunks = [c for d in store.list_documents("acme") for c in store.document_chunks("acme", d.id)]
    assert all(DOC_LANGUAGE_KEY in c.metadata for c in chunks)
    assert sum(MIXED_LANGUAGES_KEY in c.metadata for c in chunks) == 2
    # and a third run with nothing changed does nothing
    assert again.ingest([kb_dir], tenant="acme").totals()["updated"] == 0
