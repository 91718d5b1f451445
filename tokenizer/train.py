"""Train the SentencePiece tokenizer on a seeded, balanced sample of the corpus shards.

Writes to `out_dir`:
- `tokenizer.model`, `tokenizer.vocab`  SentencePiece model and its `piece<TAB>score` list
                                        (one line per id; a piece may hold a tab)
- `tokenizer.json`                      the same tokenizer for Hugging Face `tokenizers`
- `tokenizer_config.json`               Hugging Face keys (special tokens, tokenizer class) and,
                                        under "corpusmill", the training settings, the data mix
                                        actually sampled and the corpus checksum (no timings: the
                                        file is the same for the same input)

The sample streams from the Parquet shards into SentencePiece's `sentence_iterator`; no copy
of the corpus is written. SentencePiece keeps the sampled lines in memory, which is what
`sampling.max_chars` bounds. With `num_threads=1` the model bytes are a function of the
sample and the settings (tested); more threads train faster but may differ in the last bits
of piece scores.
"""

from __future__ import annotations

import io
import resource
import time
from collections.abc import Sequence
from typing import Any

import sentencepiece as spm
import tokenizers

from corpusmill.schemas import outputs
from corpusmill.tokenizer.config import TokenizerConfig
from corpusmill.tokenizer.hf import write_tokenizer_json
from corpusmill.tokenizer.sample import iter_training_lines, plan_sample

MODEL_FILE = "tokenizer.model"
VOCAB_FILE = "tokenizer.vocab"
HF_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"


def trainer_options(config: TokenizerConfig) -> dict[str, Any]:
    """Keyword arguments for `SentencePieceTrainer.train` (spm_train flag names)."""
    return {
        "model_type": config.model_type,
        "vocab_size": config.vocab_size,
        "character_coverage": config.character_coverage,
        "byte_fallback": config.byte_fallback,
        "split_digits": config.split_digits,
        "allow_whitespace_only_pieces": config.allow_whitespace_only_pieces,
        "normalization_rule_name": config.normalization_rule_name,
        "remove_extra_whitespaces": config.remove_extra_whitespaces,
        "add_dummy_prefix": config.add_dummy_prefix,
        "max_sentencepiece_length": config.max_sentencepiece_length,
        "unk_id": 0,
        "bos_id": 1,
        "eos_id": 2,
        "pad_id": -1,
        "unk_piece": config.unk_piece,
        "bos_piece": config.bos_piece,
        "eos_piece": config.eos_piece,
        "control_symbols": list(config.control_symbols),
        "user_defined_symbols": list(config.user_defined_symbols),
        "num_threads": config.num_threads,
        # the sample is already capped and deterministic: SentencePiece must not resample it
        "input_sentence_size": 0,
        "shuffle_input_sentence": False,
        "max_sentence_length": 4 * config.sampling.max_sentence_chars + 16,
        "minloglevel": 2,
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def train_tokenizer(
    corpus_files: list[str], out_dir: str, config: TokenizerConfig, *, corpus_checksum: str
) -> dict[str, Any]:
    """Train on a sample of `corpus_files`, write the artifacts to `out_dir`, return a summary
    for the run manifest (files, sizes, vocabulary, timings, peak RSS, the sampled mix)."""
    files: Sequence[str] = sorted(corpus_files)
    outputs.make_dirs(out_dir)
    t0 = time.perf_counter()
    plan = plan_sample(files, config.sampling, config.seed)
    t_plan = time.perf_counter() - t0
    if not plan.selected:
        raise ValueError(f"no text to train a tokenizer on in {len(files)} corpus file(s)")

    spm.set_random_generator_seed(config.seed)
    model_bytes = io.BytesIO()  # not model_prefix: SentencePiece would record the path in the model
    t1 = time.perf_counter()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter_training_lines(files, plan),
        model_writer=model_bytes,
        **trainer_options(config),
    )
    t_train = time.perf_counter() - t1
    model_path = outputs.join(out_dir, MODEL_FILE)
    outputs.write_bytes(model_path, model_bytes.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model_bytes.getvalue())
    vocab = "".join(f"{sp.id_to_piece(i)}\t{sp.get_score(i):.6g}\n" for i in range(sp.get_piece_size()))
    outputs.write_bytes(outputs.join(out_dir, VOCAB_FILE), vocab.encode("utf-8"))

    t2 = time.perf_counter()
    with outputs.atomic_path(outputs.join(out_dir, HF_FILE)) as hf_tmp:
        write_tokenizer_json(model_path, hf_tmp)
    t_convert = time.perf_counter() - t2

    mix = plan.mix()
    summary: dict[str, Any] = {
        "out_dir": out_dir,
        "files": {name: outputs.size(outputs.join(out_dir, name)) for name in (MODEL_FILE, VOCAB_FILE, HF_FILE)},
        "model_sha256": outputs.sha256(model_path),
        "model_type": config.model_type,
        "vocab_size": sp.get_piece_size(),
        "eos_id": sp.eos_id(),
        "corpus_checksum": corpus_checksum,
        "corpus_files": len(files),
        "sample_plan_seconds": round(t_plan, 3),
        "train_seconds": round(t_train, 3),  # includes the second sampling pass (streamed)
        "convert_seconds": round(t_convert, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "sampled_chars": mix["total_sampled_chars"],
        "sampled_docs": mix["total_sampled_docs"],
        "sampled_lines": mix["total_sampled_lines"],
        "mix": mix,
        "sentencepiece_version": spm.__version__,
        "tokenizers_version": tokenizers.__version__,
    }
    hf_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": config.unk_piece,
        "bos_token": config.bos_piece,
        "eos_token": config.eos_piece,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "corpusmill": {
            "settings": config.model_dump(mode="json"),
            "trainer_options": trainer_options(config),
            # timings and memory vary between runs: they stay out of the artifact
            **{k: v for k, v in summary.items() if k != "out_dir" and not k.endswith(("_seconds", "_mb"))},
        },
    }
    outputs.write_json(outputs.join(out_dir, CONFIG_FILE), hf_config)
    summary["files"][CONFIG_FILE] = outputs.size(outputs.join(out_dir, CONFIG_FILE))
    return summary


__all__ = ["CONFIG_FILE", "HF_FILE", "MODEL_FILE", "VOCAB_FILE", "train_tokenizer", "trainer_options"]
