"""How the store writes ``coflux.protocol`` records into columns, and reads them back.

Every record is msgspec JSON text, decoded with its exact type so a row read back
is equal to the record that was appended. A manifest's hash is taken of a
deterministic encoding (sorted keys) because it is the manifest's identity: the
same manifest must give the same hash however its dicts were built.
"""

from __future__ import annotations

import hashlib

import msgspec

from coflux import protocol

_encoder = msgspec.json.Encoder()
_deterministic = msgspec.json.Encoder(order="deterministic")

_arguments = msgspec.json.Decoder(tuple[protocol.Value, ...])
# The views hold a step's arguments as a list: decoded as one, not copied into one.
_argument_list = msgspec.json.Decoder(list[protocol.Value])
_options = msgspec.json.Decoder(protocol.TargetOptions)
# Annotated: mypy cannot infer a decoder's type from a union.
_outcome: msgspec.json.Decoder[protocol.Outcome] = msgspec.json.Decoder(protocol.Outcome)
_manifest = msgspec.json.Decoder(protocol.Manifest)
_log_values = msgspec.json.Decoder(dict[str, protocol.Value])
_tags = msgspec.json.Decoder(dict[str, tuple[str, ...]])
_metric = msgspec.json.Decoder(protocol.MetricDefinition)


def encode(record: object) -> str:
    """Any msgspec-encodable record or container as JSON text."""
    return _encoder.encode(record).decode("utf-8")


def encode_manifest(manifest: protocol.Manifest) -> tuple[str, str]:
    """The manifest's content hash (sha256 hex) and its JSON text.

    Only the hash is taken of the sorted encoding: the text keeps the order the
    agent sent, because a parameter's schema lists a model's fields in the order
    they are declared, which is the order Studio's Run… form shows them in.
    """
    digest = hashlib.sha256(_deterministic.encode(manifest)).hexdigest()
    return digest, _encoder.encode(manifest).decode("utf-8")


def decode_arguments(text: str) -> tuple[protocol.Value, ...]:
    return _arguments.decode(text)


def decode_argument_list(text: str) -> list[protocol.Value]:
    return _argument_list.decode(text)


def decode_options(text: str) -> protocol.TargetOptions:
    return _options.decode(text)


def decode_outcome(text: str) -> protocol.Outcome:
    return _outcome.decode(text)


def decode_manifest(text: str) -> protocol.Manifest:
    return _manifest.decode(text)


def decode_log_values(text: str) -> dict[str, protocol.Value]:
    return _log_values.decode(text)


def decode_tags(text: str) -> dict[str, tuple[str, ...]]:
    return _tags.decode(text)


def decode_metric(text: str) -> protocol.MetricDefinition:
    return _metric.decode(text)
