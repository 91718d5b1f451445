"""SentencePiece tokenizer for the corpus: training, Hugging Face export, report, token shards.

Modules (what the workflow calls):
- `config`:  `TokenizerConfig` (training settings, `sampling: SamplingConfig`,
             `shards: TokenShardsConfig` with `pack: PackConfig | None`)
- `train`:   `train_tokenizer(corpus_files, out_dir, config, *, corpus_checksum) -> dict`
             writes tokenizer.model / .vocab / tokenizer.json / tokenizer_config.json
- `report`:  `tokenizer_report(model_path, corpus_files, *, baseline=None, max_docs_per_group=200)`
             and `write_report(path, report)`
- `shards`:  `encode_corpus(corpus_files, model_path, out_dir, *, pipeline_options=None,
             pack=None, seed=0, batch_docs=256, num_threads=1) -> dict` (Apache Beam)
- `mixture`: `Mixture` (the workflow's `mixture:` section) and `write_mixture(tokens_dir, mixture,
             *, model_path=None) -> dict`: mixed training shards + Megatron / HF exports
Helpers: `sample` (seeded balanced sample), `hf` (.model -> tokenizer.json), `spm_proto`
(reads .model files without protobuf), `encode` (per-shard encoding, no Beam).
"""
