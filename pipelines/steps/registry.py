"""The registry that maps step names (as written in workflow YAML) to step implementations.

A step is either
  * a function `fn(doc: Document, *, param=default, ...) -> Document | Drop`, or
  * a class whose `__init__(self, *, param=default, ...)` takes the parameters and whose
    instances are callable the same way. A class may define `setup(self)` (load a model;
    called once per worker before the first document) and
    `batch(self, docs: list[Document]) -> list[Document | Drop]` (used when present).

Register with the `@step("name")` decorator in the step's module and list the module in
`STEP_MODULES`. `check_params(name, params)` validates the parameters by name and by type
against the signature (a pydantic model built from it: `min_words: "ten"` is refused, a
misspelt name gets a "did you mean"), so a bad YAML fails before the pipeline starts;
`build(name, params)` checks them the same way and returns a ready `Step`.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import typing
from collections.abc import Callable
from typing import Any, Protocol, cast

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from corpusmill.schemas.document import Document, Drop

STEP_MODULES: tuple[str, ...] = (
    "corpusmill.pipelines.steps.normalize",
    "corpusmill.pipelines.steps.language",
    "corpusmill.pipelines.steps.quality",
    "corpusmill.pipelines.steps.code",
    "corpusmill.pipelines.steps.pii",
    "corpusmill.pipelines.steps.urls",
    "corpusmill.pipelines.steps.decontamination",
    "corpusmill.pipelines.steps.content",
)

_REGISTRY: dict[str, Callable[..., Any]] = {}


class StepParamsError(TypeError, ValueError):
    """Parameters that do not fit a step's signature (a TypeError, as Python raises for a wrong
    keyword, and a ValueError, as a bad configuration value)."""


class Step(Protocol):
    def __call__(self, doc: Document) -> Document | Drop: ...


def step(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a step function or class under `name` (snake_case, what it checks)."""

    def register(obj: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name] is not obj:
            raise ValueError(f"step {name!r} registered twice")
        _REGISTRY[name] = obj
        return obj

    return register


def _load_all() -> None:
    for module in STEP_MODULES:
        importlib.import_module(module)


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def lookup(name: str) -> Callable[..., Any]:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"unknown step {name!r}{hint}; known steps: {', '.join(sorted(_REGISTRY))}") from None


def _parameters(impl: Callable[..., Any]) -> list[inspect.Parameter]:
    """The configurable parameters of a step: the keyword parameters of a class's `__init__`,
    or of a function after its document argument."""
    params = list(inspect.signature(impl).parameters.values())
    if not inspect.isclass(impl):
        params = params[1:]
    return [p for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


@functools.cache
def params_model(name: str) -> type[BaseModel]:
    """A pydantic model of step `name`'s parameters, built from its signature: each parameter
    with its annotation (Any when it has none or its annotation cannot be resolved) and its
    default; unknown names are refused."""
    impl = lookup(name)
    target = impl.__init__ if inspect.isclass(impl) else impl
    try:
        hints = typing.get_type_hints(target)
    except (NameError, TypeError):  # an annotation that only exists for type checkers
        hints = {}
    fields: dict[str, Any] = {}
    for p in _parameters(impl):
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (hints.get(p.name, Any), default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return create_model(f"{name}_params", __config__=config, **fields)


def check_params(name: str, params: dict[str, Any] | None) -> None:
    """Raise StepParamsError (one line) unless `params` fit step `name`'s signature by name and type."""
    impl = lookup(name)
    known = [p.name for p in _parameters(impl)]
    for key in params or {}:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; it takes: {', '.join(known) or 'no parameters'}"
            raise StepParamsError(f"step {name!r}: unknown parameter {key!r}{hint}")
    try:
        params_model(name).model_validate(params or {})
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise StepParamsError(f"step {name!r}: {loc}: {first['msg']} (got {first['input']!r})") from None


def build(name: str, params: dict[str, Any] | None = None) -> Step:
    """Instantiate step `name` with `params` (checked by `check_params`). Raises StepParamsError
    (or the step's own ValueError) on bad parameters."""
    impl = lookup(name)
    params = dict(params or {})
    check_params(name, params)
    if inspect.isclass(impl):
        # inspect.isclass narrows `impl` to type[Any], whose call mypy types as object
        return cast(Step, impl(**params))
    return functools.partial(impl, **params)
