"""The run plan: what one run does, fully resolved, as one frozen typed value.

`workflows/config.py` builds it once from the workflow file (presets expanded into each source's
step list, relative paths resolved, every default filled in, every step parameter checked by
type against its step's signature). The corpus pipeline (`pipelines/corpus.py`), the
tokenizer, validation and the report all read this value; `manifest.json` stores it under
`plan` (`RunPlan.model_dump(mode="json")`) and later commands read it back through the same
model (`RunPlan.model_validate`), so a later edit of a preset cannot change what a finished run
says it did.

It lives in `pipelines/` because it names the types of every stage: the source configs, the
step specs and dedup settings are defined here in `pipelines/`, the tokenizer settings in the
leaf module `tokenizer/config.py`; nothing here imports Beam or the command line.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, SerializeAsAny, field_validator, model_validator

from corpusmill.pipelines.dedup.config import ExactConfig, MinHashConfig
from corpusmill.pipelines.sources import SOURCE_MODULES
from corpusmill.pipelines.sources.base import SourceConfig
from corpusmill.pipelines.steps import registry
from corpusmill.pipelines.steps.runner import StepSpec
from corpusmill.tokenizer.config import TokenizerConfig
from corpusmill.tokenizer.mixture import Mixture, check_tokenizer

Engine = Literal["local", "flink", "spark"]
ENGINES: tuple[str, ...] = ("local", "flink", "spark")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@cache
def source_type() -> Any:
    """The type of one source: the union of every kind's `Config`, chosen by `kind`."""
    configs = tuple(importlib.import_module(module).Config for module in SOURCE_MODULES.values())
    return Annotated[Union[configs], Field(discriminator="kind")]


@cache
def source_adapter() -> TypeAdapter[Any]:
    """Validates one source mapping into its kind's `Config`."""
    return TypeAdapter(source_type())


def check_step(spec: StepSpec) -> StepSpec:
    """`spec` when its step exists and its parameters fit the step's signature by name and type
    (the loader also builds each step once, which runs the step's own checks of values)."""
    registry.check_params(spec.step, spec.params)
    return spec


class SourcePlan(Frozen):
    """One source and the steps its documents go through, in order."""

    source: SerializeAsAny[SourceConfig]  # the kind's own Config (see source_adapter)
    steps: tuple[StepSpec, ...] = ()
    preset: str | None = None  # where `steps` came from, when a preset (for the record)

    @field_validator("source", mode="before")
    @classmethod
    def _typed_source(cls, value: Any) -> Any:
        return value if isinstance(value, SourceConfig) else source_adapter().validate_python(value)

    @field_validator("steps")
    @classmethod
    def _checked_steps(cls, steps: tuple[StepSpec, ...]) -> tuple[StepSpec, ...]:
        for i, spec in enumerate(steps):
            try:
                check_step(spec)
            except (KeyError, ValueError) as e:
                raise ValueError(f"steps.{i}: {str(e).strip(chr(34) + chr(39))}") from None
        return steps

    @property
    def label(self) -> str:
        return self.source.label

    @property
    def kind(self) -> str:
        return self.source.kind


class DedupPlan(Frozen):
    exact: ExactConfig | None = Field(default_factory=ExactConfig)
    minhash: MinHashConfig | None = None


class OutputPlan(Frozen):
    dir: str  # the workflow's output directory; `corpusmill run --output` may write elsewhere
    shards: int = Field(default=4, ge=1, le=100_000)
    rejected_shards: int = Field(default=4, ge=1, le=100_000)
    failed_shards: int = Field(default=1, ge=1, le=100_000)


class ValidationPlan(Frozen):
    enabled: bool = True
    mode: Literal["fail", "warn"] = "fail"
    sample_rows: int | None = Field(default=None, ge=1)


class RunOptions(Frozen):
    engine: Engine = "local"
    max_failed_fraction: float = Field(default=0.05, ge=0.0, le=1.0)
    batch_size: int = Field(default=256, ge=1, le=100_000)


class RunPlan(Frozen):
    sources: tuple[SourcePlan, ...] = Field(min_length=1)
    dedup: DedupPlan = Field(default_factory=DedupPlan)
    output: OutputPlan
    tokenizer: TokenizerConfig | None = None  # None: no tokenizer stage
    validation: ValidationPlan = Field(default_factory=ValidationPlan)
    run: RunOptions = Field(default_factory=RunOptions)
    mixture: Mixture | None = None  # None: no training mixture (tokenizer/mixture.py)

    @model_validator(mode="after")
    def _mixture_has_token_shards(self) -> RunPlan:
        problem = check_tokenizer(self.tokenizer) if self.mixture is not None else None
        if problem:
            raise ValueError(f"mixture: {problem}")
        return self

    @property
    def engine(self) -> str:
        return self.run.engine

    def to_json(self) -> dict[str, Any]:
        """The plan as it is stored in manifest.json."""
        return self.model_dump(mode="json")

    def corpus_part(self) -> dict[str, Any]:
        """What the corpus shards depend on (the resume fingerprint of the corpus stage)."""
        return self.model_dump(mode="json", include={"sources", "dedup", "output", "run"}, exclude={"output": {"dir"}})


__all__ = ["DedupPlan", "ENGINES", "OutputPlan", "RunOptions", "RunPlan", "SourcePlan", "ValidationPlan", "check_step"]
