"""Source readers, one module per kind (see base.py for the contract)."""

SOURCE_MODULES: dict[str, str] = {
    "web": "corpusmill.pipelines.sources.web",
    "wiki": "corpusmill.pipelines.sources.wiki",
    "books": "corpusmill.pipelines.sources.books",
    "code": "corpusmill.pipelines.sources.code",
    "jsonl": "corpusmill.pipelines.sources.jsonl",
    "parquet": "corpusmill.pipelines.sources.parquet",
}
