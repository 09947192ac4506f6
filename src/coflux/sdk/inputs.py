"""Prompts: asking a person for input in the middle of an execution (``cf.Prompt``).

A ``Prompt`` is defined once (its Markdown template, what it collects, its title,
button labels and routing tags) and asked any number of times with placeholder
values: ``prompt(**values)`` blocks until someone answers and returns the answer;
``prompt.submit(**values)`` returns an ``Input`` handle at once, resolved later
with ``result()`` or ``poll()``. Inside ``cf.suspense`` a wait that lasts too long
suspends the execution, which runs again once the input is answered.

What it collects: nothing (an approval: ``None`` once approved), a primitive
(``str``, ``int``, ``float``, ``bool``, ``date``, ``time``, ``datetime``), a Pydantic
model (anything with ``model_json_schema`` and ``model_validate``; the answer comes
back as an instance), or a raw JSON Schema (the answer as JSON). A dismissal
raises ``InputDismissed``.

An input is memoised in its run by a key: the template, the placeholder values,
the schema, title and actions (hashed), or one the code chose (``with_key``), so a
prompt asked again by a re-run of the execution is the same input, with the same
answer. Nothing here imports Pydantic or jsonschema: the server checks answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, cast, overload

import msgspec

from coflux import errors, protocol
from coflux.sdk import context, parameters
from coflux.serialization import log_value

T = TypeVar("T")
D = TypeVar("D")

__all__ = ["Input", "Prompt"]

Requires = Mapping[str, str | bool | list[str] | tuple[str, ...]]

# What a prompt may collect besides a model; their schemas, like a model's, come from
# the one reading of annotations that parameters' schemas come from too.
_PRIMITIVES = (str, int, float, bool, dt.date, dt.time, dt.datetime)
# How the JSON answer becomes the model's value (the rest are JSON already).
_PARSERS: dict[type, Callable[[Any], Any]] = {
    float: float,  # JSON may carry a whole number
    dt.date: dt.date.fromisoformat,
    dt.time: dt.time.fromisoformat,
    dt.datetime: dt.datetime.fromisoformat,
}


class Input(Generic[T]):
    """A handle to an input: a future for a person's answer.

    Returned by ``Prompt.submit``; ``result()`` waits for the answer, ``poll()``
    checks for it. Two handles of one input are equal.
    """

    __slots__ = ("_id", "_parser")

    def __init__(self, input_id: str, parser: Callable[[Any], T] | None = None) -> None:
        self._id = input_id
        self._parser = parser

    @property
    def id(self) -> str:
        """The input's id."""
        return self._id

    def result(self) -> T:
        """Wait for the answer and return it (inside ``cf.suspense``, suspending the
        execution rather than waiting past its limit).

        Returns:
            The answer: an instance of the prompt's model, a primitive, JSON for a
            raw schema, or None for an approval.

        Raises:
            InputDismissed: the input was dismissed.
            RuntimeError: not inside a Coflux execution.
        """
        return self._value(self._context().input_response(self._id, None))

    @overload
    def poll(self, timeout: float | None = None) -> T | None: ...

    @overload
    def poll(self, timeout: float | None = None, *, default: D) -> T | D: ...

    def poll(self, timeout: float | None = None, default: Any = None) -> Any:
        """The answer if there is one within ``timeout`` seconds, else ``default``.

        Never suspends the execution (not even inside ``cf.suspense``).

        Raises:
            InputDismissed: the input was dismissed.
        """
        try:
            response = self._context().input_response(self._id, timeout or 0.0)
        except TimeoutError as e:
            if type(e) is TimeoutError:  # the wait ran out (a rebuilt remote one is a subclass)
                return default
            raise
        return self._value(response)

    def _context(self) -> context.ExecutionContext:
        return context.require(f"waiting for input {self._id}")

    def _value(self, response: protocol.InputResponse) -> T:
        match response:
            case protocol.InputDismissed():
                raise errors.InputDismissed(f"input {self._id} was dismissed")
            case protocol.InputResponded(value=value):
                if self._parser is None or value is None:
                    return cast(T, value)
                return self._parser(value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Input, (self._id,))  # only the id travels (as with ``Execution``)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Input) and other.id == self._id

    def __hash__(self) -> int:
        return hash(("input", self._id))

    def __repr__(self) -> str:
        return f"Input({self._id!r})"


class Prompt(Generic[T]):
    """A request for input from a person, defined once and asked with ``prompt(...)``.

    Args:
        template: Markdown shown to the person; ``{name}`` (inline), ``{{name}}``
            (a block) and ``{{{name}}}`` (Markdown) are filled from the values
            it is asked with.
        model: what the answer is: a Pydantic model (or any class with
            ``model_json_schema`` and ``model_validate``) or a primitive type; None
            (and no ``schema``): an approval, with no value.
        title: a short title shown above it.
        actions: labels of the respond and dismiss buttons, e.g. ``("Approve", "Reject")``.
        schema: a JSON Schema (a dict or its JSON text), instead of a ``model``.
        requires: routing tags (``{"role": "release-manager"}``), recorded and shown.

    Raises:
        TypeError: both ``model`` and ``schema``, or a model that is neither a
            primitive nor has a JSON schema.
    """

    def __init__(
        self,
        template: str,
        model: type[T] | None = None,
        *,
        title: str | None = None,
        actions: tuple[str, str] | None = None,
        schema: str | Mapping[str, Any] | None = None,
        requires: Requires | None = None,
    ) -> None:
        if model is not None and schema is not None:
            raise TypeError("a Prompt takes a model or a schema, not both")
        self._template = template
        self._model = model
        self._title = title
        self._actions = (actions[0], actions[1]) if actions is not None else None
        self._schema = _schema_of(model, schema)
        self._requires = _tags(requires)
        self._key: str | None = None
        self._initial: Any = None

    # --- per-submission overrides: each returns a new prompt -------------------------

    def with_key(self, key: str) -> Prompt[T]:
        """This prompt memoised on ``key`` instead of its template and values."""
        return self._copy(_key=key)

    def with_initial(self, initial: Any) -> Prompt[T]:
        """This prompt with its form filled in with ``initial`` (a model instance or JSON)."""
        return self._copy(_initial=initial)

    def with_actions(self, respond: str, dismiss: str) -> Prompt[T]:
        """This prompt with other labels for its respond and dismiss buttons."""
        return self._copy(_actions=(respond, dismiss))

    def with_requires(self, requires: Requires) -> Prompt[T]:
        """This prompt with other routing tags."""
        return self._copy(_requires=_tags(requires))

    def _copy(self, **overrides: Any) -> Prompt[T]:
        copy = cast(Prompt[T], object.__new__(Prompt))
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(overrides)
        return copy

    # --- asking ---------------------------------------------------------------------

    def __call__(self, **values: Any) -> T:
        """Ask, and wait for the answer (see ``Input.result``)."""
        return self.submit(**values).result()

    def submit(self, **values: Any) -> Input[T]:
        """Ask, and return a handle to the input at once.

        Args:
            **values: the template's placeholder values (any serialisable value).

        Raises:
            RuntimeError: not inside a Coflux execution.
        """
        ctx = context.require("asking for input (cf.Prompt)")
        placeholders = {
            name: log_value(value, allow_pickle=ctx.values.allow_pickle)
            for name, value in values.items()
        }
        key = self._key or self._memo_key(placeholders)
        input_id = ctx.submit_input(
            lambda request_id: protocol.SubmitInput(
                request_id=request_id,
                execution_id=ctx.execution_id,
                key=key,
                template=self._template,
                title=self._title,
                placeholders=placeholders,
                schema=self._schema,
                initial=_plain(self._initial),
                actions=self._actions,
                requires=self._requires,
            )
        )
        return Input(input_id, _parser_of(self._model))

    def _memo_key(self, placeholders: Mapping[str, protocol.Value]) -> str:
        """What makes two asks the same input: all that is shown, hashed."""
        asked = (self._template, dict(sorted(placeholders.items())), self._schema,
                 self._title, self._actions)  # fmt: skip
        encoded = msgspec.json.encode(asked, order="deterministic")
        return hashlib.sha256(encoded).hexdigest()[:32]

    def __repr__(self) -> str:
        return f"Prompt({self._template!r})"


def _schema_of(model: type | None, schema: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if schema is not None:
        return dict(json.loads(schema) if isinstance(schema, str) else schema)
    if model is None:
        return None
    described = parameters.parameter_schema(model)
    if described is None or not (model in _PRIMITIVES or hasattr(model, "model_json_schema")):
        raise TypeError(f"{model!r} is not a primitive type and has no model_json_schema()")
    return described


def _parser_of(model: type[T] | None) -> Callable[[Any], T] | None:
    if model is None:
        return None
    parser = _PARSERS.get(model) or getattr(model, "model_validate", None)
    return cast(Callable[[Any], T] | None, parser)


def _tags(requires: Requires | None) -> dict[str, tuple[str, ...]]:
    """Routing tags as the protocol carries them: each a tuple of accepted values."""
    tags: dict[str, tuple[str, ...]] = {}
    for name, accepted in (requires or {}).items():
        if isinstance(accepted, bool):
            tags[name] = ("true" if accepted else "false",)
        elif isinstance(accepted, str):
            tags[name] = (accepted,)
        else:
            tags[name] = tuple(accepted)
    return tags


def _plain(initial: Any) -> Any:
    """An initial value as JSON: a model dumped, a date as ISO text, JSON as is."""
    if initial is None:
        return None
    dump = getattr(initial, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    if isinstance(initial, dt.date | dt.time):  # datetime is a date
        return initial.isoformat()
    return initial
