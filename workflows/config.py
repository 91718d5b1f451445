"""The workflow file, read once into the run plan (`pipelines/plan.py: RunPlan`).

A workflow is YAML with these top-level keys (every other key is an error):

    sources:   list of {kind: web|wiki|books|code|jsonl|parquet, paths: [globs], ...kind options,
               preset: NAME | steps: [...]}   (per-source steps override the top-level list)
    steps:     ordered list of {step: NAME, params: {...}, mode: drop|annotate}  ([] = no filtering)
    dedup:     {exact: bool | {...}, minhash: {threshold: ..., ...} | null}
    output:    {dir: PATH, shards: N, rejected_shards: N, failed_shards: N}
    tokenizer: null | {vocab_size: ..., model_type: unigram|bpe, ...}
    validate:  bool | {enabled: bool, mode: fail|warn, sample_rows: N}
    run:       {engine: local|flink|spark, max_failed_fraction: 0.05, batch_size: 256}
    mixture:   null | {components: {NAME: {weight: W | tokens: N, epochs: E}}, seq_len: ..., ...}
               (tokenizer/mixture.py)

`load_plan` resolves it: each source gets its step list (its own `steps`, else its `preset`
from workflows/presets/, else the top-level `steps`), relative paths (source globs, `output.dir`,
step parameters naming files, MinHash index directories) are resolved against the workflow
file's directory, and every default is filled in. A source whose globs are all written
relative gets `location_root` = the workflow's directory: its records name inputs relative to
it (`../samples/books/a.txt#part=3`, as the workflow spells them), so moving the workflow
together with its inputs changes no output byte (pipelines/sources/base.py:
`recorded_location`); a source with an absolute glob or a URL records what was matched. Each step's parameters are checked by name
and type against the step's signature. Errors are one line naming the file and the key, with a
suggestion for a misspelt key: `x.yaml: sources.0.pahts: unknown key (did you mean 'paths'?)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from corpusmill.pipelines.plan import (
    DedupPlan,
    OutputPlan,
    RunOptions,
    RunPlan,
    SourcePlan,
    ValidationPlan,
    source_type,
)
from corpusmill.pipelines.steps import registry
from corpusmill.pipelines.steps.runner import StepSpec
from corpusmill.tokenizer.config import TokenizerConfig
from corpusmill.tokenizer.mixture import Mixture, check_tokenizer

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
TOP_KEYS = ("sources", "steps", "dedup", "output", "tokenizer", "validate", "run", "mixture")
STEP_KEYS = ("step", "params", "mode")
SOURCE_STEP_KEYS = ("preset", "steps")  # workflow syntax on a source, resolved into its SourcePlan
# Step params that name files (decontamination's eval sets); resolved like source paths.
PATH_PARAMS = ("eval_sets",)
# MinHash options that name directories (the signature index).
MINHASH_PATHS = ("index_out", "index_in")


class ConfigError(ValueError):
    """A workflow file that cannot run; the message is one line naming file and key."""


def load_plan(path: str | Path) -> RunPlan:
    """Read and resolve a workflow file. Raises ConfigError with a one-line message."""
    path = Path(path)
    data = _read_mapping(path)
    base = path.resolve().parent
    where = _Where(path)
    where.check_keys(data, TOP_KEYS, "")
    top_steps = _steps(data.get("steps") or [], base, where, "steps")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise where.error("sources", "a workflow needs a non-empty list of sources")
    sources = tuple(_source(raw, i, top_steps, base, where) for i, raw in enumerate(raw_sources))
    dedup = dict(_mapping(data.get("dedup"), "dedup", where))
    exact = dedup.get("exact", True)
    if isinstance(exact, bool):
        dedup["exact"] = {} if exact else None
    minhash = dedup.get("minhash")
    if isinstance(minhash, dict):
        dedup["minhash"] = {k: _resolve_paths(base, v) if k in MINHASH_PATHS and v is not None else v
                            for k, v in minhash.items()}
    output = dict(_mapping(data.get("output"), "output", where))
    output["dir"] = resolve_path(base, str(output.get("dir", "out")))
    if output.get("rejected_shards") is None:
        output["rejected_shards"] = output.get("shards", 4)
    validate = data.get("validate", True)
    tokenizer = where.validate(TokenizerConfig, data["tokenizer"], "tokenizer") if data.get("tokenizer") else None
    mixture = where.validate(Mixture, data["mixture"], "mixture") if data.get("mixture") else None
    if mixture is not None and (problem := check_tokenizer(tokenizer)):
        raise where.error("mixture", problem)
    return RunPlan(
        sources=sources,
        dedup=where.validate(DedupPlan, dedup, "dedup"),
        output=where.validate(OutputPlan, output, "output"),
        tokenizer=tokenizer if tokenizer is not None and tokenizer.enabled else None,
        validation=where.validate(ValidationPlan, {"enabled": validate} if isinstance(validate, bool) else validate, "validate"),
        run=where.validate(RunOptions, data.get("run") or {}, "run"),
        mixture=mixture,
    )


def load_preset(name: str) -> list[StepSpec]:
    """The step list of preset `name` (workflows/presets/NAME.yaml), checked."""
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown preset {name!r}{hint}; known presets: {', '.join(known)}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return list(_steps(data.get("steps") or [], PRESETS_DIR, _Where(path), "steps"))


def resolve_path(base: Path, value: str) -> str:
    """Resolve a path from the workflow against the workflow's directory (URLs untouched)."""
    if not _is_relative(value):
        return value
    return os.path.normpath(os.path.join(base.resolve(), value))


def _is_relative(value: str) -> bool:
    """A local path written relative to the workflow's directory (not a URL, not absolute)."""
    return "://" not in value and not Path(value).is_absolute()


# ----------------------------------------------------------------------------- pieces


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read workflow: {e.strerror or e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a workflow is a mapping with at least `sources`")
    return data


def _mapping(value: Any, key: str, where: _Where) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(key, f"expected a mapping, got {type(value).__name__}")
    return value


def _source(raw: Any, i: int, top_steps: tuple[StepSpec, ...], base: Path, where: _Where) -> SourcePlan:
    key = f"sources.{i}"
    raw = dict(_mapping(raw, key, where))
    preset, own_steps = raw.pop("preset", None), raw.pop("steps", None)
    if "location_root" in raw:
        raise where.error(f"{key}.location_root", "set from the workflow's directory, not in the workflow")
    if isinstance(raw.get("paths"), list):
        if raw["paths"] and all(isinstance(p, str) and _is_relative(p) for p in raw["paths"]):
            raw["location_root"] = str(base.resolve())  # records name inputs as the workflow does
        raw["paths"] = [resolve_path(base, p) if isinstance(p, str) else p for p in raw["paths"]]
    source = where.validate(source_type(), raw, key)
    if own_steps is not None:
        steps, preset = _steps(own_steps, base, where, f"{key}.steps"), None
    elif preset is not None:
        try:
            steps = tuple(load_preset(str(preset)))
        except ConfigError as e:
            raise where.error(f"{key}.preset", str(e)) from None
    else:
        steps = top_steps
    return SourcePlan(source=source, steps=steps, preset=preset)


def _steps(raw: Any, base: Path, where: _Where, key: str) -> tuple[StepSpec, ...]:
    if not isinstance(raw, list):
        raise where.error(key, "expected a list of steps")
    specs = []
    for j, entry in enumerate(raw):
        at = f"{key}.{j}"
        entry = _mapping(entry, at, where)
        where.check_keys(entry, STEP_KEYS, at)
        params = entry.get("params") or {}
        if isinstance(params, dict):
            params = {k: _resolve_paths(base, v) if k in PATH_PARAMS else v for k, v in params.items()}
        spec = where.validate(StepSpec, {**entry, "params": params}, at)
        try:  # by name and type against the signature, then the step's own checks of values
            registry.build(spec.step, spec.params)
        except (KeyError, ValueError) as e:
            raise where.error(at, str(e).strip("'\"")) from None
        specs.append(spec)
    return tuple(specs)


def _resolve_paths(base: Path, value: Any) -> Any:
    """A path or list of paths resolved against `base`; other values are left for validation."""
    if isinstance(value, str):
        return resolve_path(base, value)
    if isinstance(value, list):
        return [resolve_path(base, v) if isinstance(v, str) else v for v in value]
    return value


class _Where:
    """Errors of one workflow file: `FILE: KEY: message`, with "did you mean" for unknown keys."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key or '<top>'}: {message}")

    def check_keys(self, data: dict[str, Any], known: tuple[str, ...], at: str) -> None:
        for key in data:
            if key not in known:
                raise self.error(_join(at, str(key)), f"unknown key{_did_you_mean(str(key), known)}")

    def validate(self, target: Any, value: Any, at: str) -> Any:
        adapter: TypeAdapter[Any] = TypeAdapter(target)
        try:
            return adapter.validate_python(value)
        except ValidationError as e:
            errors = e.errors()
            # a misspelt key also makes its right spelling missing: name the misspelling
            first = next((err for err in errors if err["type"] == "extra_forbidden"), errors[0])
            loc = [p for p in first["loc"] if not str(p).startswith(("function-", "tagged-union"))]
            key = _join(at, ".".join(str(p) for p in loc))
            if first["type"] == "extra_forbidden":
                known = _keys_at(target, loc[:-1])
                message = f"unknown key{_did_you_mean(str(loc[-1]), known)}"
            else:
                message = first["msg"].removeprefix("Value error, ")
            more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
            raise self.error(key, message + more) from None


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at and key else at or key


def _did_you_mean(key: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; known keys: {', '.join(sorted(known))}" if known else ""


def _types_in(t: Any) -> list[Any]:
    """The model / dataclass types a field annotation can hold (through Optional, unions,
    Annotated, lists, tuples and dict values)."""
    origin = get_origin(t)
    if origin is Annotated:
        return _types_in(get_args(t)[0])
    if origin in (Union, types.UnionType, list, tuple, dict):
        return [m for a in get_args(t) for m in _types_in(a)]
    if isinstance(t, type) and (issubclass(t, BaseModel) or dataclasses.is_dataclass(t)):
        return [t]
    return []


def _fields(t: Any) -> dict[str, Any]:
    if isinstance(t, type) and issubclass(t, BaseModel):
        return {name: f.annotation for name, f in t.model_fields.items()}
    return {f.name: f.type for f in dataclasses.fields(t)}


def _keys_at(target: Any, loc: list[Any]) -> list[str]:
    """The keys allowed at `loc` inside type `target`."""
    models = _types_in(target)
    for part in loc:
        if isinstance(part, int):
            continue
        deeper = [m for t in models for m in _types_in(_fields(t).get(str(part)))]
        tagged = [t for t in models if "kind" in _fields(t) and _kind_of(t) == part]
        models = deeper or tagged or models
    return sorted({name for t in models for name in _fields(t)})


def _kind_of(t: Any) -> Any:
    field = t.model_fields.get("kind") if isinstance(t, type) and issubclass(t, BaseModel) else None
    return field.default if field is not None else None


__all__ = ["ConfigError", "PRESETS_DIR", "load_plan", "load_preset", "resolve_path"]
