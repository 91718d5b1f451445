"""Real multilingual corpus shards (DOCUMENT_SCHEMA Parquet) and one small trained tokenizer,
shared by the tokenizer tests.

Text: the bundled KJV bible (en) and Tang poems (zh), plus UDHR paragraphs in several
languages and scripts from ../shared/data (ru, ar, el, hi, ja, ko, he, th, de, fr, ...).
"""

from __future__ import annotations

import lzma
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusmill.schemas.document import DOCUMENT_SCHEMA, Document, make_id, to_row
from corpusmill.tokenizer.config import SamplingConfig, TokenizerConfig

ANSI = re.compile(r"\x1b\[[0-9;]*m")
UDHR_LANGS = {
    "eng": ("en", "Latn"),
    "rus": ("ru", "Cyrl"),
    "arb": ("ar", "Arab"),
    "cmn_hans": ("zh", "Hans"),
    "ell_monotonic": ("el", "Grek"),
    "hin": ("hi", "Deva"),
    "jpn": ("ja", "Jpan"),
    "kor": ("ko", "Kore"),
    "heb": ("he", "Hebr"),
    "tha": ("th", "Thai"),
    "deu": ("de", "Latn"),
    "fra": ("fr", "Latn"),
    "ukr": ("uk", "Cyrl"),
    "vie": ("vi", "Latn"),
}


def _doc(text: str, source: str, locator: str, language: str, script: str) -> Document:
    return Document(
        id=make_id(source, locator), text=text, source=source, location=locator, language=language, script=script
    )


def build_documents(samples: Path, shared: Path) -> list[Document]:
    docs: list[Document] = []
    kjv = lzma.open(samples / "books" / "kjv-bible.en.txt.xz", "rt", encoding="utf-8").read()
    chapters = [c.strip() for c in re.split(r"\n(?=\S[^\n]* \d+\n)", kjv) if c.strip()]
    for i, chapter in enumerate(chapters[:400]):
        docs.append(_doc(chapter, "books", f"kjv#chapter={i}", "en", "Latn"))
    tang = ANSI.sub("", (samples / "books" / "tang300-poems.zh.txt").read_text(encoding="utf-8"))
    for i, poem in enumerate(p.strip() for p in tang.split("\n%\n")):
        if poem:
            docs.append(_doc(poem, "books", f"tang300#poem={i}", "zh", "Hans"))
    paragraphs: dict[str, list[str]] = {}
    with lzma.open(shared / "lid" / "udhr2_paragraphs.tsv.xz", "rt", encoding="utf-8") as f:
        for line in f:
            lang, _, text = line.rstrip("\n").partition("\t")
            if lang in UDHR_LANGS and text.strip():
                paragraphs.setdefault(lang, []).append(text)
    for lang, paras in sorted(paragraphs.items()):
        code, script = UDHR_LANGS[lang]
        for k in range(0, len(paras), 6):
            docs.append(_doc("\n\n".join(paras[k : k + 6]), "web", f"udhr#{lang}#{k}", code, script))
    return docs


def write_shards(docs: list[Document], out: Path, num_shards: int = 2, row_group_size: int = 64) -> list[str]:
    """Corpus shards as the integrator writes them: hash(id) -> shard, rows sorted by id."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(num_shards):
        rows = sorted((to_row(d) for d in docs if int(d.id, 16) % num_shards == s), key=lambda r: r["id"])
        path = out / f"part-{s:05d}-of-{num_shards:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), path, row_group_size=row_group_size)
        paths.append(str(path))
    return paths


def small_config(**overrides) -> TokenizerConfig:
    """A tokenizer small and quick enough for tests (vocabulary 2,000)."""
    base = dict(
        vocab_size=2000,
        character_coverage=0.995,
        sampling=SamplingConfig(max_chars=800_000, temperature=2.0),
    )
    base.update(overrides)
    return TokenizerConfig(**base)


@pytest.fixture(scope="session")
def corpus_docs(samples: Path, shared_data: Path) -> list[Document]:
    return build_documents(samples, shared_data)


@pytest.fixture(scope="session")
def corpus_files(corpus_docs, tmp_path_factory) -> list[str]:
    return write_shards(corpus_docs, tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def trained(corpus_files, tmp_path_factory) -> tuple[str, dict]:
    """(out_dir, summary) of one unigram tokenizer trained on the shards."""
    from corpusmill.tokenizer.train import train_tokenizer

    out = tmp_path_factory.mktemp("tok")
    summary = train_tokenizer(corpus_files, str(out), small_config(), corpus_checksum="test-checksum")
    return str(out), summary
