"""The registry that maps step names (as written in workflow YAML) to step implementations.

A step is either
  * a function `fn(doc: Document, *, param=default, ...) -> Document | Drop`, or
  * a class whose `__init__(self, *, param=default, ...)` takes the parameters and whose
    instances are callable the same way. A class may define `setup(self)` (load a model;
    called once per worker before the first document) and
    `batch(self, docs: list[Document]) -> list[Document | Drop]` (used when present).

Register with the `@step("name")` decorator in the step's module and list the module in
`STEP_MODULES`. `build(name, params)` checks the parameter names against the signature (so a
typo in the YAML fails before the pipeline starts) and returns a ready `Step`.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any, Protocol, cast

from corpusmill.schemas.document import Document, Drop

STEP_MODULES: tuple[str, ...] = (
    "corpusmill.pipelines.steps.normalize",
    "corpusmill.pipelines.steps.language",
    "corpusmill.pipelines.steps.quality",
    "corpusmill.pipelines.steps.code",
    "corpusmill.pipelines.steps.pii",
    "corpusmill.pipelines.steps.urls",
    "corpusmill.pipelines.steps.decontamination",
)

_REGISTRY: dict[str, Callable[..., Any]] = {}


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
        raise KeyError(f"unknown step {name!r}; known steps: {', '.join(sorted(_REGISTRY))}") from None


def build(name: str, params: dict[str, Any] | None = None) -> Step:
    """Instantiate step `name` with `params`. Raises TypeError/ValueError on bad parameters."""
    impl = lookup(name)
    params = dict(params or {})
    if inspect.isclass(impl):
        try:
            inspect.signature(impl).bind(**params)
        except TypeError as e:
            raise TypeError(f"step {name!r}: {e}") from None
        # inspect.isclass narrows `impl` to type[Any], whose call mypy types as object
        return cast(Step, impl(**params))
    sig = inspect.signature(impl)
    try:
        sig.bind(None, **params)
    except TypeError as e:
        raise TypeError(f"step {name!r}: {e}") from None
    return functools.partial(impl, **params)
