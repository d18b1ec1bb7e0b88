"""Config: schema, precedence (flags > env > file), and errors that name key and source."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.config import CONFIG_TEMPLATE, load_settings, write_config
from ragline.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.store == "sqlite:///ragline.db"
    assert s.embedder == "minilm"
    assert s.model == "extractive"
    assert s.retrieval.fusion == "rrf"


def test_init_template_is_valid_and_commented(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    text = path.read_text()
    assert text == CONFIG_TEMPLATE
    assert text.count("#") > 20  # every section is explained
    s = load_settings(tmp_path, environ={})
    assert s.retrieval.k == 5


def test_init_template_documents_every_store_url() -> None:
    store_comment = CONFIG_TEMPLATE.split("\nstore:", 1)[0].rsplit("\n\n", 1)[1]
    for form in ("sqlite:///", "memory://", "postgresql://", "ragline postgres url"):
        assert form in store_comment, form


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "ragline.yaml").write_text("retrieval: {k: 9}\n")
    with pytest.raises(ConfigError, match="already exists"):
        write_config(tmp_path)
    assert "k: 9" in (tmp_path / "ragline.yaml").read_text()  # nothing lost
    write_config(tmp_path, force=True)


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("retrieval:\n  kk: 3\n")
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path, environ={})
    msg = str(e.value)
    assert "ragline.yaml" in msg
    assert "retrieval.kk" in msg
    assert "unknown key" in msg
    assert "candidates" in msg  # lists the keys that do exist


def test_bad_value_names_key_file_and_value(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("retrieval:\n  fusion: magic\n")
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path, environ={})
    msg = str(e.value)
    assert "ragline.yaml" in msg and "retrieval.fusion" in msg and "'magic'" in msg


def test_bad_routing_regex_is_reported(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "routing:\n  - name: r\n    when: {query_matches: '(unclosed'}\n"
        "    boost: {doc_type: finance, factor: 2}\n"
    )
    with pytest.raises(ConfigError, match=r"routing\[0\]\.when\.query_matches"):
        load_settings(tmp_path, environ={})


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("store: sqlite:///x.db\nretrieval: [\n")
    with pytest.raises(ConfigError, match=r"ragline\.yaml line \d+: not valid YAML"):
        load_settings(tmp_path, environ={})


def test_env_overrides_file_and_flags_override_env(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("retrieval:\n  k: 3\n  fusion: weighted\n")
    env = {"RAGLINE_RETRIEVAL__K": "7", "RAGLINE_TENANTS__ACME__LANGUAGES": "[en]"}
    s = load_settings(tmp_path, environ=env)
    assert s.retrieval.k == 7
    assert s.retrieval.fusion == "weighted"  # untouched keys keep the file's value
    assert s.tenant("acme").languages == ["en"]
    s = load_settings(tmp_path, environ=env, overrides={"retrieval.k": 11})
    assert s.retrieval.k == 11


def test_unrelated_env_vars_are_ignored(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={"RAGLINE_HOME": "/x", "RAGLINE_CACHE_DIR": "/y"})
    assert s.retrieval.k == 5


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable RAGLINE_RETRIEVAL__K"):
        load_settings(tmp_path, environ={"RAGLINE_RETRIEVAL__K": "many"})


def test_bad_flag_value_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"command-line option for retrieval\.k"):
        load_settings(tmp_path, environ={}, overrides={"retrieval.k": 0})


def test_chunk_overlap_must_be_below_size(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("ingest: {chunk_size: 200, chunk_overlap: 300}\n")
    with pytest.raises(ConfigError, match="chunk_overlap must be smaller"):
        load_settings(tmp_path, environ={})


def test_routing_rule_needs_an_action(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "routing:\n  - name: r\n    when: {query_matches: 'x'}\n"
    )
    with pytest.raises(ConfigError, match="needs a 'boost' or a 'filter'"):
        load_settings(tmp_path, environ={})


def test_design_example_config_loads(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "store: sqlite:///ragline.db\nembedder: minilm\nmodel: extractive\n"
        "tenants:\n  acme:\n    api_keys_env: ACME_KEYS\n    languages: [en]\n"
        "routing:\n  - name: finance-boost\n"
        "    when: {query_matches: '(\\$|€|£)\\s?\\d|\\bUSD\\b|\\bEUR\\b'}\n"
        "    boost: {doc_type: finance, factor: 1.5}\n"
    )
    s = load_settings(tmp_path, environ={})
    assert s.routing[0].boost is not None
    assert s.routing[0].boost.fields() == {"doc_type": "finance"}
    assert s.routing[0].boost.factor == 1.5
