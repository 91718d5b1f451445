"""Pure dedup logic (no Beam): config models, normalisation and script-aware shingles,
datasketch-compatible MinHash signatures, LSH banding and verification, survivor order,
connected-components reduce functions. The Beam wiring is in pipelines/transforms/dedup.py."""
