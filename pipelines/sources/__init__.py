"""Source readers, one module per kind (see base.py for the contract)."""

SOURCE_MODULES: dict[str, str] = {
    "web": "pipelines.sources.web",
    "wiki": "pipelines.sources.wiki",
    "books": "pipelines.sources.books",
    "code": "pipelines.sources.code",
    "jsonl": "pipelines.sources.jsonl",
    "parquet": "pipelines.sources.parquet",
}
