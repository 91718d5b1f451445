"""The workflow file: its model, loading and validation.

A workflow is YAML with these top-level keys (every other key is an error):

    sources:   list of {kind: web|wiki|books|code|jsonl|parquet, paths: [globs], ...kind options,
               preset: NAME | steps: [...]}   (per-source steps override the top-level list)
    steps:     ordered list of {step: NAME, params: {...}, mode: drop|annotate}  ([] = no filtering)
    dedup:     {exact: bool | {...}, minhash: {threshold: ..., ...} | null}
    output:    {dir: PATH, shards: N, rejected_shards: N, failed_shards: N}
    tokenizer: null | {vocab_size: ..., model_type: unigram|bpe, ...}
    validate:  bool | {enabled: bool, mode: fail|warn, sample_rows: N}
    run:       {max_failed_fraction: 0.05, batch_size: 256}

Relative input paths and `output.dir` are resolved against the workflow file's directory.
Errors name the file and the key: `workflows/x.yaml: sources.0.paths: Field required`.
"""

from __future__ import annotations

import copy
import importlib
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from corpusmill.pipelines.dedup.config import ExactConfig, MinHashConfig
from corpusmill.pipelines.sources import SOURCE_MODULES
from corpusmill.pipelines.steps import registry
from corpusmill.pipelines.steps.runner import StepSpec
from corpusmill.tokenizer.config import TokenizerConfig

PRESETS_DIR = Path(__file__).resolve().parent / "presets"


class ConfigError(ValueError):
    """A workflow file that cannot run; the message is one line naming file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepConfig(_Strict):
    step: str
    params: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["drop", "annotate"] = "drop"

    @model_validator(mode="after")
    def _buildable(self) -> StepConfig:
        try:
            registry.build(self.step, self.params)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(str(e).strip("'\"")) from None
        return self

    def spec(self) -> StepSpec:
        return StepSpec(step=self.step, params=dict(self.params), mode=self.mode)


class DedupConfig(_Strict):
    exact: bool | ExactConfig = True
    minhash: MinHashConfig | None = None

    @property
    def exact_config(self) -> ExactConfig | None:
        if self.exact is True:
            return ExactConfig()
        if self.exact is False:
            return None
        return self.exact


class OutputConfig(_Strict):
    dir: str = "out"
    shards: int = Field(default=4, ge=1, le=100_000)
    rejected_shards: int | None = Field(default=None, ge=1, le=100_000)
    failed_shards: int = Field(default=1, ge=1, le=100_000)


class ValidateConfig(_Strict):
    enabled: bool = True
    mode: Literal["fail", "warn"] = "fail"
    sample_rows: int | None = Field(default=None, ge=1)


class RunConfig(_Strict):
    max_failed_fraction: float = Field(default=0.05, ge=0.0, le=1.0)
    batch_size: int = Field(default=256, ge=1, le=100_000)
    engine: Literal["local", "flink", "spark"] = "local"  # `corpusmill run --engine` overrides it


def _source_union() -> Any:
    configs = []
    for kind, module_name in SOURCE_MODULES.items():
        module = importlib.import_module(module_name)
        configs.append(module.Config)
    return Annotated[Union[tuple(configs)], Field(discriminator="kind")]  # type: ignore[valid-type]


def load_preset(name: str) -> list[StepConfig]:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(known)}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return TypeAdapter(list[StepConfig]).validate_python(data.get("steps") or [])


class Workflow(_Strict):
    sources: list[Any] = Field(min_length=1)
    steps: list[StepConfig] = Field(default_factory=list)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    tokenizer: TokenizerConfig | None = None
    validate_: bool | ValidateConfig = Field(default=True, alias="validate")
    run: RunConfig = Field(default_factory=RunConfig)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("sources", mode="before")
    @classmethod
    def _typed_sources(cls, value: Any) -> Any:
        return TypeAdapter(list[_source_union()]).validate_python(value)

    @property
    def validation(self) -> ValidateConfig:
        if isinstance(self.validate_, ValidateConfig):
            return self.validate_
        return ValidateConfig(enabled=self.validate_)

    def steps_for(self, source: Any) -> list[StepSpec]:
        """The step list of one source: its own `steps`, else its `preset`, else the
        workflow's top-level `steps`."""
        if source.steps is not None:
            configs = TypeAdapter(list[StepConfig]).validate_python(source.steps)
        elif source.preset is not None:
            configs = load_preset(source.preset)
        else:
            configs = list(self.steps)
        return [c.spec() for c in configs]


def _format_error(path: Path, error: ValidationError) -> str:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("function-", "tagged-union")))
    msg = first["msg"].removeprefix("Value error, ")
    extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{path}: {loc or '<top>'}: {msg}{extra}"


def load_workflow(path: str | Path) -> Workflow:
    """Parse and validate a workflow file. Raises ConfigError with a one-line message."""
    path = Path(path)
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
    data = _resolve_relative_paths(data, path.parent)
    try:
        workflow = Workflow.model_validate(data)
        for i, source in enumerate(workflow.sources):
            try:
                workflow.steps_for(source)
            except (ValueError, ValidationError) as e:
                raise ConfigError(f"{path}: sources.{i}: {str(e).splitlines()[0]}") from None
    except ValidationError as e:
        raise ConfigError(_format_error(path, e)) from None
    return workflow


# Step params that name files (decontamination's eval sets); resolved like source paths.
PATH_PARAMS = ("eval_sets",)
# MinHash options that name directories (the signature index).
MINHASH_PATHS = ("index_out", "index_in")


def _resolve_relative_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of the raw workflow mapping in which the file paths outside `sources.paths`
    (step params in PATH_PARAMS, dedup.minhash index directories) are resolved against the
    workflow's directory, as source paths are, so a workflow means the same from any CWD.
    Values of unexpected types are left for validation to reject."""
    data = copy.deepcopy(data)

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return resolve_path(base, value)
        if isinstance(value, list):
            return [resolve_path(base, v) if isinstance(v, str) else v for v in value]
        return value

    step_lists = [data.get("steps")] + [s.get("steps") for s in data.get("sources") or [] if isinstance(s, dict)]
    for steps in step_lists:
        for step in steps if isinstance(steps, list) else []:
            params = step.get("params") if isinstance(step, dict) else None
            for key in PATH_PARAMS if isinstance(params, dict) else ():
                if key in params:
                    params[key] = fix(params[key])
    dedup = data.get("dedup")
    minhash = dedup.get("minhash") if isinstance(dedup, dict) else None
    for key in MINHASH_PATHS if isinstance(minhash, dict) else ():
        if minhash.get(key) is not None:
            minhash[key] = fix(minhash[key])
    return data


def resolve_path(base: Path, value: str) -> str:
    """Resolve a path from the workflow against the workflow's directory (URLs untouched)."""
    if "://" in value or Path(value).is_absolute():
        return value
    return os.path.normpath(os.path.join(base.resolve(), value))
