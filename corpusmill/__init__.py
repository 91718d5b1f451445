"""corpusmill: Apache Beam pipelines that turn raw text sources into a pretraining corpus.

The installed package maps the repository's top-level folders: `corpusmill.pipelines`
(sources, steps, dedup, Beam transforms), `corpusmill.schemas`, `corpusmill.tokenizer` and
`corpusmill.workflows` (plan, CLI, validation, report).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("corpusmill")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
