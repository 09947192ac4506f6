"""Every message that crosses a process boundary, defined once.

Three conversations use these records:

* agent -> server and server -> agent, over the agent WebSocket (JSON); a
  frame carries one message or an array of messages, so a busy sender writes
  whatever it has queued in one frame (``encode_frame``, ``decode_*_frame``);
* executor -> agent and agent -> executor, over a socket pair (msgpack,
  length-prefixed frames);
* the manifest and value shapes that the HTTP API and the store reuse.

Each direction is one closed, tagged union (``AgentMessage``, ``ServerMessage``,
``ExecutorMessage``, ``ExecutorCommand``), decoded once at the edge by the
decoders below and dispatched with an exhaustive ``match``. Nobody builds wire
dicts by hand, tests included.

The agent handshake (``Hello``) carries ``PROTOCOL_VERSION``; the server closes a
connection that speaks a version outside ``MIN_PROTOCOL_VERSION`` ..
``PROTOCOL_VERSION`` with ``CLOSE_PROTOCOL_MISMATCH``. A newer version only adds:
optional ``Hello`` fields and messages an older agent never sends, so the server
still serves agents of every version in that range.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec

# 2: frames may carry arrays of messages. 3: ``Blocked`` and Hello's
# ``max_executors`` and ``blocked``. 4: a session is resumed only with the secret
# its ``Welcome`` handed out (``session_secret``); older agents could not resume
# safely, so they are refused. 5: ``Execute.timeout`` (the agent enforces it and
# reports ``TimedOut``) and ``Submit.group``; an agent of version 4 could not
# decode an ``Execute`` with a timeout, so it is refused. 6: ``Metrics`` (an agent
# of version 5 never sends it, so it is still served). 7: input prompts
# (``SubmitInput``, ``GetInput``, ``InputReply``, ``Suspended.waiting_for_inputs``;
# an agent of version 6 never sends them, so it is still served). 8: Hello's
# ``prefetch`` (an agent of version 7 never asks for more than its concurrency).
PROTOCOL_VERSION = 8
MIN_PROTOCOL_VERSION = 5  # the oldest agents the server still accepts

MAX_FRAME_MESSAGES = 1000  # a sender puts at most this many messages in one frame

# WebSocket close codes the server uses to end an agent connection with a reason.
CLOSE_PROTOCOL_MISMATCH = 4001
CLOSE_BAD_HANDSHAKE = 4002
CLOSE_UNKNOWN_PROJECT = 4003
CLOSE_UNKNOWN_ENVIRONMENT = 4004
CLOSE_UNAUTHORISED = 4005
CLOSE_BAD_MESSAGE = 4006
CLOSE_UNAVAILABLE = 4007  # the project cannot serve now: reconnect later (not fatal)
# The hello named a session without its secret: nothing changed; an agent that
# meant to resume starts a new session instead (not fatal).
CLOSE_SESSION_REFUSED = 4008
# Another server (sharing the database) owns the project: the reason is its URL,
# where the agent connects instead, resuming its session (not fatal).
CLOSE_MOVED = 4009

# --- bounds --------------------------------------------------------------------
# Every number and name a peer sends is bounded here, so that a message the core
# could not apply (an integer past SQLite's 64 bits, a NaN delay, a value nested
# deeper than the stack) is a ProtocolError at decode time, never an exception
# inside a project's actor. The HTTP API's bodies reuse these types, so its
# OpenAPI document shows the same bounds. docs/api.md lists them.

MAX_FRAME_BYTES = 16 * 1024 * 1024  # an agent frame (WebSocket message), encoded
MAX_VALUE_DEPTH = 100  # nesting of a value's tagged JSON tree (and of asset metadata)
MAX_SAFE_INT = 2**53 - 1  # exact in every JSON reader, JavaScript's included
MAX_CONCURRENCY = 10_000  # executions one agent may run at once
MAX_EXECUTORS = 4 * MAX_CONCURRENCY  # and hold (blocked ones included)
MAX_RETRIES = 10_000
MAX_SECONDS = 100 * 366 * 86_400.0  # a delay, a cache age: a century at most
# Seconds since the epoch: from 0001-01-01 to 9999-12-31, what a datetime can show.
MIN_TIMESTAMP, MAX_TIMESTAMP = -62_135_596_800.0, 253_402_300_799.0
MAX_PARAMETERS = 10_000  # parameter positions are below this
MAX_NAME = 1024  # characters of an id or a name (project, target, tag, ...)
MAX_ASSET_FILES = 100_000
# 64 TiB a file: MAX_ASSET_FILES of them still sum below 2**63 (an asset's size).
MAX_FILE_SIZE = 2**46
# Metrics (docs/metrics.md): what one execution may record, and how long a metric's
# key or label may be. The SDK stops at these; the server drops what is past them.
MAX_METRIC_KEYS = 100  # metrics defined by one execution
MAX_METRIC_POINTS = 100_000  # points recorded by one execution, all its metrics together
MAX_METRIC_NAME = 256  # characters of a metric's key, group, scale or units

Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INT)]  # ids, indices, sizes
Attempt = Annotated[int, msgspec.Meta(ge=1, le=MAX_SAFE_INT)]
Concurrency = Annotated[int, msgspec.Meta(ge=1, le=MAX_CONCURRENCY)]
Position = Annotated[int, msgspec.Meta(ge=0, lt=MAX_PARAMETERS)]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS)]
Timestamp = Annotated[float, msgspec.Meta(ge=MIN_TIMESTAMP, le=MAX_TIMESTAMP)]
Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]  # and no NUL: see ``check_text``
# Every finite double (JSON cannot carry NaN or infinities; msgpack can, and this refuses them).
Finite = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]
MetricKey = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_METRIC_NAME)]
MetricLabel = Annotated[str, msgspec.Meta(max_length=MAX_METRIC_NAME)]

# Patterns, for ``re.fullmatch`` and for the OpenAPI document (JSON Schema's
# patterns are ECMA-262, where ``$`` is the end of the text). Never check one with
# ``re.match`` or ``re.search``, as msgspec's ``pattern=`` does: there ``$`` also
# matches before a final newline, so "abc\n" would pass.
NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # a project or an environment
REPOSITORY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"  # a module
TARGET_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"  # an identifier
BLOB_KEY_PATTERN = "^[0-9a-f]{64}$"  # a sha256, lowercase hex

# The exact length is what refuses a key followed by a newline, as the pattern cannot.
BlobKey = Annotated[str, msgspec.Meta(pattern=BLOB_KEY_PATTERN, min_length=64, max_length=64)]


def _checked_by_the_core(pattern: str) -> msgspec.Meta:
    # Declared, not enforced here: the core checks the name in full and refuses
    # it with a reason of its own (``invalid_name``, ``invalid_repository``, ...).
    return msgspec.Meta(max_length=MAX_NAME, extra_json_schema={"pattern": pattern})


ProjectName = Annotated[str, _checked_by_the_core(NAME_PATTERN)]
EnvironmentName = Annotated[str, _checked_by_the_core(NAME_PATTERN)]
RepositoryName = Annotated[str, _checked_by_the_core(REPOSITORY_PATTERN)]
TargetName = Annotated[str, _checked_by_the_core(TARGET_PATTERN)]
Names = tuple[Name, ...]
Positions = Annotated[tuple[Position, ...], msgspec.Meta(max_length=MAX_PARAMETERS)]
Tags = dict[Name, tuple[Name, ...]]  # tag -> values (provides, requires)
Targets = dict[Name, tuple[Name, ...]]  # repository -> target names

TargetType = Literal["workflow", "task", "sensor"]
LogLevel = Literal["debug", "info", "warning", "error", "stdout", "stderr"]


class Record(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every record here: immutable, strict about unknown fields."""


class Message(Record, frozen=True, tag_field="tag"):
    """Base of the members of a tagged union; ``tag`` names the member on the wire."""


# --- values and outcomes -------------------------------------------------------


class Value(Record, frozen=True):
    """A serialised Python value (see ``coflux.serialization``).

    ``format`` is ``"json"`` (``data`` is a tagged JSON tree) or ``"pickle"``
    (``data`` is base64 text; the server never unpickles). A value stored in the
    blob store has ``blob`` set to its sha256 key and ``data`` left ``None``.
    ``executions`` and ``assets`` list the handles found inside the value, so the
    server can see dependencies without decoding it.
    """

    format: Literal["json", "pickle"]
    data: Any = None
    blob: BlobKey | None = None
    size: Count = 0
    label: Name | None = None
    executions: Names = ()
    assets: Names = ()


Arguments = Annotated[tuple[Value, ...], msgspec.Meta(max_length=MAX_PARAMETERS)]


class ErrorInfo(Record, frozen=True):
    """An exception raised by user code, or one the engine raised on its behalf."""

    type: str
    message: str
    traceback: str = ""
    # False when the step's retry filter (``cf.Retries(when=...)``), evaluated where
    # the exception was raised, refused it: the failure is final, whatever the policy.
    retryable: bool = True


class Succeeded(Message, frozen=True, tag="succeeded"):
    value: Value


class Failed(Message, frozen=True, tag="failed"):
    error: ErrorInfo


class Cancelled(Message, frozen=True, tag="cancelled"):
    pass


class Abandoned(Message, frozen=True, tag="abandoned"):
    pass


class Suspended(Message, frozen=True, tag="suspended"):
    """The execution ended itself to be run again later (``cf.suspend``/``cf.suspense``).

    The next attempt is due at ``due_at`` (now if None) and waits for the outcomes
    of ``waiting_for`` before it is assigned.
    """

    due_at: Timestamp | None = None
    waiting_for: Names = ()
    # Inputs (``cf.Prompt``) it waits for: it is not assigned until each is answered.
    waiting_for_inputs: Names = ()


class TimedOut(Message, frozen=True, tag="timed_out"):
    """The execution ran past its ``timeout``: its agent stopped its process."""

    timeout: Seconds = 0.0


Outcome = Succeeded | Failed | Cancelled | Abandoned | TimedOut
"""How an execution ended, as its waiters see it."""

ReportedOutcome = Succeeded | Failed | Suspended | TimedOut
"""The outcomes an executor can report for its own execution."""


# --- manifests -----------------------------------------------------------------


class Parameter(Record, frozen=True):
    name: Name
    annotation: str | None = None
    default: str | None = None  # source repr of the default, shown to users
    kind: Literal["positional", "var_positional", "keyword"] = "positional"
    # A JSON Schema of the JSON that can stand for the argument, from its
    # annotation (``sdk/parameters.py``); None: anything (nothing to check).
    schema: dict[str, Any] | None = None


class CacheOptions(Record, frozen=True):
    max_age: Seconds | None = None  # None = no limit
    params: Positions | None = None  # parameter positions; None = all
    namespace: Name | None = None  # default "repository:target"
    version: Name | None = None


class RetryOptions(Record, frozen=True):
    limit: Annotated[int, msgspec.Meta(ge=0, le=MAX_RETRIES)] | None  # None = no limit
    delay_min: Seconds = 0.0
    delay_max: Seconds = 0.0


class DeferOptions(Record, frozen=True):
    params: Positions | None = None


class TargetOptions(Record, frozen=True):
    wait: Positions = ()  # positions of arguments to wait for
    cache: CacheOptions | None = None
    retries: RetryOptions | None = None
    defer: DeferOptions | None = None
    delay: Seconds = 0.0
    # Positions (empty: all) to memoise a call on; False: never memoised; None: not
    # set, so the call is memoised (on all positions) when its run memoises calls.
    memo: Positions | bool | None = None
    # A workflow's ``memo=True``: its run memoises every call that does not set
    # ``memo``. The orchestrator carries it to the run's task steps.
    memo_calls: bool = False
    requires: Tags = {}
    timeout: Seconds = 0.0  # seconds an execution may run; 0 = no limit
    recurrent: bool = False  # run again (after ``delay``) while it returns None


class TargetDefinition(Record, frozen=True):
    name: TargetName
    type: TargetType
    parameters: tuple[Parameter, ...] = ()
    docstring: str | None = None
    options: TargetOptions = TargetOptions()


class Manifest(Record, frozen=True):
    repository: RepositoryName
    targets: tuple[TargetDefinition, ...] = ()


# --- logs ----------------------------------------------------------------------


class LogEntry(Record, frozen=True):
    execution_id: Name
    timestamp: Timestamp  # seconds since the epoch
    level: LogLevel
    template: str
    values: dict[str, Value] = {}


# --- metrics -------------------------------------------------------------------


class MetricGroupInfo(Record, frozen=True):
    """A metric's group (``cf.MetricGroup``): one chart, whose x-axis it describes."""

    name: MetricKey
    units: MetricLabel | None = None
    lower: Finite | None = None
    upper: Finite | None = None


class MetricScaleInfo(Record, frozen=True):
    """A metric's scale (``cf.MetricScale``): its y-axis, shared within a group by
    name; ``progress`` draws it as a bar toward ``upper``."""

    name: MetricKey | None = None
    units: MetricLabel | None = None
    lower: Finite | None = None
    upper: Finite | None = None
    progress: bool = False


class MetricDefinition(Record, frozen=True):
    """What one metric of an execution is, sent once, before its first points.

    ``throttle``: the most points per second the SDK sends of it (None: all).
    """

    key: MetricKey
    group: MetricGroupInfo | None = None
    scale: MetricScaleInfo | None = None
    throttle: Annotated[float, msgspec.Meta(gt=0, le=MAX_SECONDS)] | None = None


class MetricSeries(Record, frozen=True):
    """Points of one metric, in the order recorded: each is ``(value, at)``, ``at``
    being its x (seconds since the execution started, unless the code gave one)."""

    key: MetricKey
    points: Annotated[tuple[tuple[Finite, Finite], ...], msgspec.Meta(max_length=MAX_METRIC_POINTS)]


class ExecutionMetrics(Record, frozen=True):
    """What one execution recorded since its last batch: the metrics it defined
    since then, and the new points of each metric."""

    execution_id: Name
    definitions: Annotated[
        tuple[MetricDefinition, ...], msgspec.Meta(max_length=MAX_METRIC_KEYS)
    ] = ()
    series: Annotated[tuple[MetricSeries, ...], msgspec.Meta(max_length=MAX_METRIC_KEYS)] = ()


# --- assets --------------------------------------------------------------------

AssetKind = Literal["file", "directory"]


class AssetEntry(Record, frozen=True):
    """One file of an asset: its path relative to the asset's base (POSIX
    separators, never absolute, never ``..``), size and blob key."""

    path: str
    size: Annotated[int, msgspec.Meta(ge=0, le=MAX_FILE_SIZE)]
    blob: BlobKey


class AssetInfo(Record, frozen=True):
    """An asset as recorded: what ``GET /api/projects/P/assets/ID`` returns.

    ``path`` is the persisted file or directory relative to the persisting
    execution's working directory (``"."`` for all of it); each entry's path
    starts with it, so restoring puts files back where they were.
    """

    id: Name
    execution_id: Name
    kind: AssetKind
    path: str
    size: Count
    file_count: Count
    metadata: dict[str, Any]
    entries: tuple[AssetEntry, ...]


# --- inputs --------------------------------------------------------------------

# What one prompt may carry (docs/inputs.md): its template's characters, its title's.
MAX_PROMPT_TEMPLATE = 100_000
MAX_PROMPT_TITLE = 1024


class InputInfo(Record, frozen=True):
    """A prompt an execution asked (``cf.Prompt``), as recorded: the ``input_requested``
    fact's, and (with its status) what the API shows.

    ``placeholders`` are values as log entries carry them; ``schema`` is the JSON
    Schema an answer must satisfy (None: an approval, answered with no value);
    ``actions`` the labels of the respond and dismiss buttons; ``requires`` is
    recorded and shown, never matched (docs/inputs.md).
    """

    # No defaults: every field is on the wire (a live fact), null or empty included.
    id: Name
    execution_id: Name
    run_id: Name
    environment: Name
    key: Name
    title: Name | None
    template: str
    placeholders: dict[Name, Value]
    schema: dict[str, Any] | None
    initial: Any
    actions: tuple[Name, Name] | None
    requires: Tags
    created_at: Timestamp


class InputResponded(Message, frozen=True, tag="responded"):
    """A person answered: ``value`` is the JSON answer (None for an approval)."""

    value: Any = None


class InputDismissed(Message, frozen=True, tag="dismissed"):
    """A person dismissed the prompt."""


InputResponse = InputResponded | InputDismissed


# --- agent -> server -----------------------------------------------------------


class Hello(Message, frozen=True, tag="hello"):
    """First message on a connection; opens a new session or resumes one.

    ``executing`` lists every execution the agent still holds (running, or
    finished but not yet acknowledged); any other execution the server had
    assigned to a resumed session is abandoned.

    ``concurrency`` bounds the executions that run (are not blocked waiting for
    a result, see ``Blocked``); ``max_executors`` bounds all of them, blocked
    ones included (each holds a process); ``None`` (agents of version 2) means
    ``concurrency``. ``blocked`` lists the held executions the agent has reported
    blocked (its ``Blocked`` messages are dropped while it is disconnected).

    ``prefetch``: how many executions beyond ``concurrency`` the agent takes to
    hold until a slot frees (it starts them itself, in the order assigned), so
    that a slot freed by a finished execution is filled without waiting for the
    server to record the completion and send the next assignment. Held ones count
    against ``max_executors`` like running ones, so each has a process to start on.
    """

    protocol_version: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
    project: Name
    environment: Name
    session_id: Name | None = None
    session_secret: Name | None = None  # what the Welcome that opened it handed out
    concurrency: Concurrency = 1
    provides: Tags = {}
    targets: Targets = {}
    executing: Names = ()
    max_executors: Annotated[int, msgspec.Meta(ge=1, le=MAX_EXECUTORS)] | None = None
    blocked: Names = ()
    prefetch: Annotated[int, msgspec.Meta(ge=0, le=MAX_CONCURRENCY)] = 0


class Declare(Message, frozen=True, tag="declare"):
    """Replaces the targets a session hosts (after a code reload)."""

    targets: Targets


class Group(Record, frozen=True):
    """The ``cf.group`` a call was made in: numbered from 0 per calling execution."""

    index: Count
    name: Name | None = None


class Submit(Message, frozen=True, tag="submit"):
    """A call from a running execution: schedules a step.

    ``call_index`` numbers the calls of one execution from zero; the server
    de-duplicates on ``(parent_execution_id, call_index)`` so that a resent
    submission after a reconnect creates nothing new.
    """

    request_id: Count
    parent_execution_id: Name
    call_index: Count
    repository: Name
    target: Name
    type: TargetType
    arguments: Arguments
    options: TargetOptions = TargetOptions()
    group: Group | None = None


class GetResult(Message, frozen=True, tag="get_result"):
    request_id: Count
    execution_id: Name
    from_execution_id: Name


OutputStream = Literal["stdout", "stderr"]


class Complete(Message, frozen=True, tag="complete"):
    """An execution ended; the agent resends it until the server acknowledges.

    ``marked`` is for the agent only (it forwards the message without it): the
    executor's output streams on which an end-of-output marker follows, because
    they still held unread output when the execution ended.
    """

    execution_id: Name
    outcome: ReportedOutcome
    marked: tuple[OutputStream, ...] = ()


class CancelExecution(Message, frozen=True, tag="cancel"):
    execution_id: Name
    from_execution_id: Name


class Checkpoint(Message, frozen=True, tag="checkpoint"):
    """A running sensor's progress: it restarts with these arguments."""

    execution_id: Name
    arguments: Arguments


class Blocked(Message, frozen=True, tag="blocked"):
    """An execution started (``blocked``) or stopped waiting for a result.

    Sent by the executor once a wait has lasted a few milliseconds (short waits
    never are), and passed on by the agent only while the server's count matters
    (see ``coflux.agent.pool``). A blocked execution holds a process but no
    ``concurrency`` slot, so nested fan-outs cannot fill an agent with waiters.
    """

    execution_id: Name
    blocked: bool


class Logs(Message, frozen=True, tag="logs"):
    entries: tuple[LogEntry, ...]


class Metrics(Message, frozen=True, tag="metrics"):
    """Metric definitions and points, batched like ``Logs`` and best-effort too; an
    executor sends its own execution's, the agent those of several executions."""

    executions: tuple[ExecutionMetrics, ...]


class PersistAsset(Message, frozen=True, tag="persist_asset"):
    """Record an asset whose files are already in the blob store.

    The executor picks ``asset_id`` (random), so a resent request records
    nothing twice; the server answers with ``AssetReply``.
    """

    request_id: Count
    execution_id: Name
    asset_id: Name
    kind: AssetKind
    path: str
    entries: Annotated[tuple[AssetEntry, ...], msgspec.Meta(max_length=MAX_ASSET_FILES)]
    metadata: dict[str, Any] = {}


class RestoreAsset(Message, frozen=True, tag="restore_asset"):
    """Ask for an asset's entries, recording that ``execution_id`` restored it."""

    request_id: Count
    execution_id: Name
    asset_id: Name


class SubmitInput(Message, frozen=True, tag="submit_input"):
    """Ask for input (``cf.Prompt.submit``): the run's input of ``key`` is found or
    made, so a resent request (or the prompt asked again by a re-run) makes
    nothing new. Answered with ``InputReply`` naming the input."""

    request_id: Count
    execution_id: Name
    key: Name
    template: Annotated[str, msgspec.Meta(max_length=MAX_PROMPT_TEMPLATE)]
    title: Annotated[str, msgspec.Meta(max_length=MAX_PROMPT_TITLE)] | None = None
    placeholders: dict[Name, Value] = {}
    schema: dict[str, Any] | None = None
    initial: Any = None
    actions: tuple[Name, Name] | None = None
    requires: Tags = {}


class GetInput(Message, frozen=True, tag="get_input"):
    """Wait for an input's response: answered with ``InputReply`` once it has one."""

    request_id: Count
    input_id: Name
    from_execution_id: Name


AgentMessage = (
    Hello
    | Declare
    | Submit
    | GetResult
    | Complete
    | CancelExecution
    | Checkpoint
    | Blocked
    | Logs
    | Metrics
    | PersistAsset
    | RestoreAsset
    | SubmitInput
    | GetInput
)


# --- server -> agent -----------------------------------------------------------


class Welcome(Message, frozen=True, tag="welcome"):
    """The session the connection serves. A new session comes with its secret, sent
    this once: only the agent holding it can resume the session (``Hello``)."""

    session_id: Name
    resumed: bool = False
    session_secret: Name | None = None


class Execute(Message, frozen=True, tag="execute"):
    execution_id: Name
    run_id: Name
    step_id: Name
    attempt: Attempt
    repository: Name
    target: Name
    arguments: Arguments
    timeout: Seconds = 0.0  # the agent stops the execution after this long (0: never)


class Abort(Message, frozen=True, tag="abort"):
    """Stop an execution (it was cancelled); its process is terminated."""

    execution_id: Name


class Submitted(Message, frozen=True, tag="submitted"):
    request_id: Count
    execution_id: Name | None = None
    error: ErrorInfo | None = None


class ResultReady(Message, frozen=True, tag="result"):
    request_id: Count
    execution_id: Name
    outcome: Outcome


class Ack(Message, frozen=True, tag="ack"):
    """The server has durably recorded these executions' completions."""

    execution_ids: Names


class AssetReply(Message, frozen=True, tag="asset"):
    """The answer to ``PersistAsset`` or ``RestoreAsset``: the asset, or why not."""

    request_id: Count
    asset: AssetInfo | None = None
    error: ErrorInfo | None = None


class InputReply(Message, frozen=True, tag="input"):
    """The answer to ``SubmitInput`` (``input_id``, and ``response`` if the input is
    settled already) or to ``GetInput`` (``input_id`` and ``response``), or why not
    (``error``)."""

    request_id: Count
    input_id: Name | None = None
    response: InputResponse | None = None
    error: ErrorInfo | None = None


ServerMessage = Welcome | Execute | Abort | Submitted | ResultReady | Ack | AssetReply | InputReply
# The server's replies to requests that executors made (the agent routes them back).
RequestReply = Submitted | ResultReady | AssetReply | InputReply


# --- executor <-> agent --------------------------------------------------------


class ExecutorReady(Message, frozen=True, tag="ready"):
    """The executor imported the repositories; these are their targets."""

    manifests: tuple[Manifest, ...]


class ExecutorFailed(Message, frozen=True, tag="executor_failed"):
    """The executor could not import the repositories."""

    error: ErrorInfo


class LogMessage(Message, frozen=True, tag="log"):
    entry: LogEntry


ExecutorMessage = (
    ExecutorReady
    | ExecutorFailed
    | Submit
    | GetResult
    | CancelExecution
    | Checkpoint
    | Blocked
    | Complete
    | LogMessage
    | Metrics
    | PersistAsset
    | RestoreAsset
    | SubmitInput
    | GetInput
)

ExecutorCommand = Execute | Submitted | ResultReady | AssetReply | InputReply


# --- codecs --------------------------------------------------------------------

_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()
_agent_decoder: msgspec.json.Decoder[AgentMessage | list[AgentMessage]] = msgspec.json.Decoder(
    AgentMessage | list[AgentMessage]
)
_server_decoder: msgspec.json.Decoder[ServerMessage | list[ServerMessage]] = msgspec.json.Decoder(
    ServerMessage | list[ServerMessage]
)
_executor_message_decoder: msgspec.msgpack.Decoder[ExecutorMessage] = msgspec.msgpack.Decoder(
    ExecutorMessage
)
_executor_command_decoder: msgspec.msgpack.Decoder[ExecutorCommand] = msgspec.msgpack.Decoder(
    ExecutorCommand
)


class ProtocolError(ValueError):
    """A message could not be decoded into its union, or breaks a bound above."""


def encode_json(message: Record) -> bytes:
    return _json_encoder.encode(message)


def encode_msgpack(message: Record) -> bytes:
    return _msgpack_encoder.encode(message)


def encode_frame(messages: Sequence[Record]) -> bytes:
    """One WebSocket frame: a single message as is, several as a JSON array."""
    if len(messages) == 1:
        return _json_encoder.encode(messages[0])
    return _json_encoder.encode(messages)


def decode_agent_frame(data: bytes | str) -> list[AgentMessage]:
    """The messages of one frame from an agent (one, or an array; never empty)."""
    return _frame(_agent_decoder, data)


def decode_server_frame(data: bytes | str) -> list[ServerMessage]:
    """The messages of one frame from the server (one, or an array; never empty)."""
    return _frame(_server_decoder, data)


def _frame(decoder: msgspec.json.Decoder[Any], data: bytes | str) -> list[Any]:
    if len(data) > MAX_FRAME_BYTES:
        raise ProtocolError(f"a frame of {len(data)} bytes (at most {MAX_FRAME_BYTES})")
    decoded = _decode(decoder, data)
    if not isinstance(decoded, list):
        return [decoded]
    if not decoded:
        raise ProtocolError("an empty frame")
    return decoded


def decode_executor_message(data: bytes) -> ExecutorMessage:
    return _decode(_executor_message_decoder, data)  # type: ignore[no-any-return]


def decode_executor_command(data: bytes) -> ExecutorCommand:
    return _decode(_executor_command_decoder, data)  # type: ignore[no-any-return]


def _decode(decoder: msgspec.json.Decoder[Any] | msgspec.msgpack.Decoder[Any], data: Any) -> Any:
    try:
        decoded = decoder.decode(data)
    except msgspec.DecodeError as e:
        raise ProtocolError(str(e)) from None
    except RecursionError:
        # msgspec counts its nesting against Python's recursion limit.
        raise ProtocolError(f"nested more than {MAX_VALUE_DEPTH} levels deep") from None
    if could_nest_past(data, MAX_VALUE_DEPTH, msgpack=isinstance(decoder, msgspec.msgpack.Decoder)):
        check_depth(decoded)
    check_text(decoded, data)
    return decoded


def check_depth(decoded: object, limit: int = MAX_VALUE_DEPTH) -> None:
    """Refuse a decoded record holding JSON data nested past ``limit`` levels.

    The data is each ``Any`` field (a value's tree, an asset's metadata); a
    deeper one could fail later wherever it is walked recursively (the store's
    encoder, a decoder in an executor, Studio), so it is refused here, where
    nothing has been done with it yet. Iterative, so it cannot overflow itself.

    Raises:
        ProtocolError: data nested deeper than ``limit``.
    """
    # (item, depth): depth counts the JSON levels above the item; records and
    # tuples (typed fields, never JSON data) start again from zero.
    stack: list[tuple[object, int]] = [(decoded, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        children: Any
        if kind is list or kind is dict:
            depth += 1
            if depth > limit:
                raise ProtocolError(f"data nested more than {limit} levels deep")
            children = item.values() if kind is dict else item  # type: ignore[attr-defined]
        elif kind is tuple:
            children, depth = item, 0
        elif isinstance(item, msgspec.Struct):
            children, depth = [getattr(item, f) for f in item.__struct_fields__], 0
        else:
            continue
        for child in children:
            if type(child) not in _SCALARS:
                stack.append((child, depth))


_SCALARS = frozenset({str, int, float, bool, type(None)})

# Every level of a list, dict or record opens with one of these bytes: "[" or "{"
# in JSON; a fixmap, fixarray, array 16/32 or map 16/32 header in msgpack.
_MSGPACK_OPENINGS = frozenset([*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF])
_NOT_MSGPACK_OPENINGS = bytes(b for b in range(256) if b not in _MSGPACK_OPENINGS)


def could_nest_past(raw: bytes | str, limit: int, *, msgpack: bool = False) -> bool:
    """Whether an encoded document has enough openings of lists, dicts and records
    to hold data nested past ``limit`` levels: if not, ``check_depth`` of what it
    decodes to cannot fail, and its walk (a tenth of a small message's cost to
    decode) is spared. Openings are counted anywhere, inside strings too: a count
    too high only means the walk is made."""
    if msgpack:
        assert isinstance(raw, bytes)
        return len(raw.translate(None, _NOT_MSGPACK_OPENINGS)) > limit
    if isinstance(raw, str):
        return raw.count("[") + raw.count("{") > limit
    return raw.count(b"[") + raw.count(b"{") > limit


# Records and fields that hold data (kept as JSON, where NUL is escaped), not names.
_DATA_RECORDS: tuple[type, ...] = (Value, ErrorInfo)
# (An input's schema, initial value and answer are data too.)
_DATA_FIELDS = frozenset({"data", "template", "values", "metadata", "schema", "initial", "value"})


def check_text(decoded: object, raw: bytes | str) -> None:
    """Refuse a NUL character in any name, id, path or other text of a record
    (PostgreSQL's text cannot hold one, and no name needs one); data (values,
    log templates, errors, metadata) may hold anything.

    Only a frame whose JSON holds an escaped NUL can have one, so others cost a
    substring search; msgpack frames (executor <-> agent) are not checked.

    Raises:
        ProtocolError: a NUL outside data.
    """
    if isinstance(raw, bytes):
        if b"\\u0000" not in raw:
            return
    elif "\\u0000" not in raw:
        return
    stack: list[tuple[Any, str]] = [(decoded, "")]
    while stack:
        item, where = stack.pop()
        if type(item) is str:
            if "\x00" in item:
                raise ProtocolError(f"{where.lstrip('.') or 'a name'} holds a NUL character")
        elif type(item) is list or type(item) is tuple:
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
        elif type(item) is dict:
            for key, child in item.items():
                stack.append((key, f"{where} key"))
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, msgspec.Struct) and not isinstance(item, _DATA_RECORDS):
            stack.extend(
                (getattr(item, f), f"{where}.{f}")
                for f in item.__struct_fields__
                if f not in _DATA_FIELDS
            )
