"""``Target``: what a decorator returns, and how a call of it becomes a step.

A ``Target`` wraps the user's function with its resolved definition. Calling it
inside an execution submits a step through the current execution context and
waits for the result; outside one (tests, scripts) it is the plain function.

Arguments travel positionally, in parameter order, with defaults applied: the
caller binds keyword arguments with ``inspect.signature`` (``bind``) and the
executor maps positions back onto parameters (``invoke``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Generic, ParamSpec, TypeVar

import msgspec

from coflux import protocol
from coflux.sdk import context, parameters
from coflux.sdk import options as option_checks
from coflux.sdk.handles import Execution
from coflux.sdk.policies import Retries, RetryFilter, retryable

__all__ = ["Target", "register_repository", "repository_for_module"]

P = ParamSpec("P")
T = TypeVar("T")

_Kind = inspect.Parameter
_KINDS: dict[Any, Any] = {
    _Kind.POSITIONAL_ONLY: "positional",
    _Kind.POSITIONAL_OR_KEYWORD: "positional",
    _Kind.VAR_POSITIONAL: "var_positional",
    _Kind.KEYWORD_ONLY: "keyword",
}

# Module name -> repository name, recorded when the agent loads a repository.
# This is process-wide configuration (which modules were loaded as what), not
# execution state, so a module-level table is the right home for it.
_module_repositories: dict[str, str] = {}


def register_repository(module_name: str, repository: str) -> None:
    """Record that the module ``module_name`` was loaded as ``repository``."""
    _module_repositories[module_name] = repository


def repository_for_module(module_name: str) -> str:
    """The repository a module's targets belong to (its own name by default)."""
    return _module_repositories.get(module_name, module_name)


# A parameter's schema longer than this (encoded) is left out of the manifest:
# the argument is then not checked at submission, only converted by the executor.
MAX_SCHEMA_BYTES = 64 * 1024


def _describe(parameter: inspect.Parameter, hint: Any) -> protocol.Parameter:
    """A parameter's manifest entry; ``hint``: its resolved annotation."""
    annotation = parameter.annotation
    if annotation is _Kind.empty:
        text = None
    elif isinstance(annotation, str):  # already source text (PEP 563)
        text = annotation
    else:
        text = inspect.formatannotation(annotation)
    default = None if parameter.default is _Kind.empty else repr(parameter.default)
    kind = _KINDS[parameter.kind]
    schema = parameters.parameter_schema(hint) if kind != "var_positional" else None
    if schema is not None:
        encoded = msgspec.json.encode(schema)
        if len(encoded) > MAX_SCHEMA_BYTES or b"\\u0000" in encoded:
            schema = None  # too big to record, or text the manifest cannot hold
    return protocol.Parameter(
        name=parameter.name, annotation=text, default=default, kind=kind, schema=schema
    )


def _load_target(module_name: str, qualname: str) -> Any:
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


class Target(Generic[P, T]):
    """A workflow, task, sensor or stub, made by a decorator.

    ``target(*args, **kwargs)`` is ``target.submit(*args, **kwargs).result()``.
    """

    # Copied from the function by functools.update_wrapper.
    __name__: str
    __qualname__: str

    def __init__(
        self,
        fn: Callable[P, T],
        *,
        name: str,
        type: protocol.TargetType,
        options: protocol.TargetOptions,
        stub_repository: str | None = None,
        retry_when: RetryFilter | None = None,
    ) -> None:
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            # Its result would be a generator, which cannot be recorded or passed on.
            raise TypeError(
                f"{fn.__qualname__}: a generator function cannot be a target; return a list"
            )
        self.fn = fn
        self.name = name
        self.type: protocol.TargetType = type
        self.options = options
        self.stub_repository = stub_repository
        # Which failures the retry policy applies to; evaluated by the executor
        # running this target, never sent (a function cannot travel).
        self.retry_when = retry_when
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    @functools.cached_property
    def hints(self) -> dict[str, Any]:
        """The parameters' resolved annotations (resolved on first use, once the
        module that defines the target has been loaded whole)."""
        return parameters.parameter_hints(self.fn)

    @property
    def is_stub(self) -> bool:
        """Whether this target is hosted elsewhere (``@cf.stub``)."""
        return self.stub_repository is not None

    @property
    def repository(self) -> str:
        """The repository hosting the target."""
        if self.stub_repository is not None:
            return self.stub_repository
        return repository_for_module(self.fn.__module__)

    def definition(self) -> protocol.TargetDefinition:
        """The target's manifest entry."""
        return protocol.TargetDefinition(
            name=self.name,
            type=self.type,
            parameters=tuple(
                _describe(p, self.hints.get(p.name, Any))
                for p in self.signature.parameters.values()
            ),
            docstring=inspect.getdoc(self.fn),
            options=self.options,
        )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        if context.current() is None:
            # A plain call (a stub's body is its stand-in): no handle, no extra frames.
            return self.fn(*args, **kwargs)
        return self.submit(*args, **kwargs).result()

    def submit(self, *args: P.args, **kwargs: P.kwargs) -> Execution[T]:
        """Schedule the target as a step and return a handle to its execution.

        Outside an execution the function runs now and the handle is already
        resolved (its ``result()`` re-raises what the function raised).

        Returns:
            The execution's handle.

        Raises:
            TypeError: the arguments do not fit the signature, or a sensor was
                called (sensors are started, not called).
        """
        ctx = context.current()
        if ctx is None:
            return self._run_locally(*args, **kwargs)
        if self.type == "sensor":
            raise TypeError(
                f"sensor {self.name!r} cannot be called; start it with `coflux sensors start`"
            )
        return ctx.submit(
            repository=self.repository,
            target=self.name,
            type=self.type,
            options=self.options,
            arguments=self.bind(args, kwargs),
        )

    def _run_locally(self, *args: P.args, **kwargs: P.kwargs) -> Execution[T]:
        # A stub's body is its stand-in here (tests, scripts), as upstream Coflux has it.
        try:
            value = self.fn(*args, **kwargs)
        except Exception as e:  # delivered by .result(), like a remote failure
            return Execution.resolved(error=e)
        return Execution.resolved(value)

    def retryable(self, error: BaseException) -> bool:
        """Whether this target's retry filter lets a failure with ``error`` be retried."""
        return retryable(self.retry_when, error)

    def bind(self, args: Sequence[Any], kwargs: dict[str, Any]) -> list[Any]:
        """The wire arguments for a call: positional, in parameter order, defaults applied.

        Raises:
            TypeError: the arguments do not fit the signature.
        """
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.name}(): {e}") from None
        bound.apply_defaults()
        arguments: list[Any] = []
        for parameter in self.signature.parameters.values():
            value = bound.arguments[parameter.name]
            if parameter.kind is _Kind.VAR_POSITIONAL:
                arguments.extend(value)
            else:
                arguments.append(value)
        return arguments

    def invoke(self, arguments: Sequence[Any]) -> T:
        """Call the plain function with wire arguments (the inverse of ``bind``)."""
        positional, variadic, keyword = self._layout
        split = len(arguments) - len(keyword) if variadic else len(positional)
        converted = self._convert(arguments)
        kwargs = dict(zip((p.name for p in keyword), converted[split:], strict=False))
        result: Any = self.fn(*converted[:split], **kwargs)
        if inspect.iscoroutine(result):
            # An ``async def`` target runs to completion on its own event loop; the
            # execution context is a ContextVar, so the loop's tasks see it too.
            # asyncio is imported only here: an executor's start (on the path to a
            # first result) does not pay ~10 ms for it when no target is async.
            import asyncio

            result = asyncio.run(result)
        return result  # type: ignore[no-any-return]

    def prepare(self) -> None:
        """Work out now what invoking the target first needs (its resolved annotations
        and wire layout), once the module that defines it has been loaded whole."""
        _ = self.hints, self._layout

    @functools.cached_property
    def _layout(
        self,
    ) -> tuple[list[inspect.Parameter], inspect.Parameter | None, list[inspect.Parameter]]:
        """The parameters in the order of the wire arguments: the positional ones, the
        variadic one (any number of values), the keyword-only ones. Worked out once:
        an executor invokes a target many times."""
        declared = list(self.signature.parameters.values())
        variadic = next((p for p in declared if p.kind is _Kind.VAR_POSITIONAL), None)
        fixed = [p for p in declared if p.kind is not _Kind.VAR_POSITIONAL]
        positional = [p for p in fixed if p.kind is not _Kind.KEYWORD_ONLY]
        keyword = [p for p in fixed if p.kind is _Kind.KEYWORD_ONLY]
        return positional, variadic, keyword

    def _convert(self, arguments: Sequence[Any]) -> list[Any]:
        """The wire arguments as their annotations ask (``parameters.convert``):
        JSON submitted from outside becomes the dataclass, model or enum declared.

        Raises:
            TypeError: an argument cannot be what its parameter is annotated as.
        """
        hints = self.hints
        if not hints:
            return list(arguments)
        positional, variadic, keyword = self._layout
        extra = len(arguments) - len(positional) - len(keyword)
        order = [*positional, *([variadic] * extra if variadic else []), *keyword]
        converted = []
        for parameter, value in zip(order, arguments, strict=False):
            hint = hints.get(parameter.name, Any)
            try:
                converted.append(parameters.convert(value, hint))
            except (TypeError, ValueError) as e:
                raise TypeError(
                    f"{self.name}(): argument {parameter.name!r} is not a valid"
                    f" {inspect.formatannotation(hint)}: {e}"
                ) from None
        return converted

    # --- per-call overrides (upstream Coflux's ``with_*``) ---------------------------

    def _with(self, retry_when: RetryFilter | None = None, **changes: Any) -> Target[P, T]:
        """A copy of this target with some options replaced (the original is unchanged)."""
        copy: Target[P, T] = Target.__new__(Target)
        copy.__dict__.update(self.__dict__)
        copy.options = msgspec.structs.replace(self.options, **changes)
        if "retries" in changes:
            copy.retry_when = retry_when
        return copy

    def with_cache(self, cache: option_checks.CacheOption) -> Target[P, T]:
        """This target with caching replaced for the calls made through it.

        Args:
            cache: as the decorator's ``cache`` (``False`` turns caching off).
        """
        return self._with(cache=option_checks.cache_options(self.signature, cache))

    def with_retries(self, retries: option_checks.RetriesOption) -> Target[P, T]:
        """This target with its retry policy replaced (``0`` or ``False`` turns retries off).

        The policy's limit and back-off apply to the calls made through the copy. A
        ``when`` filter cannot travel to the executor that runs the call (a function
        is not sent): there, the decorator's own filter is the one evaluated.
        """
        when = retries.when if isinstance(retries, Retries) else None
        return self._with(when, retries=option_checks.retry_options(retries))

    def with_defer(self, defer: option_checks.DeferOption) -> Target[P, T]:
        """This target with deferring replaced (``False`` turns it off)."""
        return self._with(defer=option_checks.defer_options(self.signature, defer))

    def with_memo(self, memo: option_checks.ParamsOption) -> Target[P, T]:
        """This target with memoising replaced: for a task, ``True``, parameter names,
        or ``False``; for a workflow, whether its runs memoise their calls."""
        if self.type == "workflow":
            if not isinstance(memo, bool):
                raise TypeError(f"a workflow's memo must be True or False, not {memo!r}")
            return self._with(memo_calls=memo)
        return self._with(memo=option_checks.memo_options(self.signature, memo))

    def with_delay(self, delay: option_checks.DelayOption) -> Target[P, T]:
        """This target with its delay replaced (seconds or a ``timedelta``)."""
        return self._with(delay=option_checks.delay_seconds(delay))

    def with_timeout(self, timeout: option_checks.DelayOption) -> Target[P, T]:
        """This target with its timeout replaced (seconds or a ``timedelta``; 0: none)."""
        return self._with(timeout=option_checks.timeout_seconds(timeout))

    def with_requires(self, requires: option_checks.RequiresOption) -> Target[P, T]:
        """This target with the tags an agent must provide replaced."""
        return self._with(requires=option_checks.requires_tags(requires))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by reference, like a function, so targets can be passed around.
        return (_load_target, (self.fn.__module__, self.fn.__qualname__))

    def __repr__(self) -> str:
        return f"<{self.type} {self.repository}:{self.name}>"
