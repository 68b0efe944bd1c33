"""A Python reader generated for one Avro schema: reads the current event schema about twice as fast as fastavro.

fastavro interprets the schema for every record; this writes the interpretation out once as straight-line
Python (one function per record type, unions as lookup tables). It covers what the OneStory schemas use and
nothing else: a schema with another construct gets no generated reader, and bytes the reader cannot vouch
for raise one of `FALLBACK`, so the codec lets fastavro read them again (and name what is wrong). Property
tests in tests/unit/test_event_codec.py hold it equal to fastavro, value for value, on good and bad bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any


class _Unusual(Exception):
    """The generated reader cannot vouch for these bytes; fastavro reads them (and reports what is wrong)."""


class _Unsupported(Exception):
    """A schema construct the generated reader does not cover: that schema is read by fastavro alone."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint of more than one byte (the one-byte case is inlined by the generated code)."""
    shift = 0
    acc = 0
    while True:
        b = data[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        if not b & 0x80:
            return (acc >> 1) ^ -(acc & 1), pos
        shift += 7
        if shift > 63:
            raise _Unusual("varint too long")


_DAYS_SHIFT = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _ReaderSource:
    """Python source of a reader specialised to one (parsed) schema, as fastavro's schemaless_reader reads it
    with no reader schema and ``return_record_name=True``."""

    def __init__(self, schema: Any) -> None:
        self.named: dict[str, Any] = {}
        self._collect(schema)
        self.functions: dict[str, str] = {}  # record full name -> function name
        self.consts: dict[str, Any] = {}
        self.lines: list[str] = []
        self.tables: list[str] = []  # module-level, after the functions they name
        self._n = 0
        self.entry = self._record_function(schema)

    def _collect(self, schema: Any) -> None:
        if isinstance(schema, list):
            for s in schema:
                self._collect(s)
        elif isinstance(schema, dict):
            if schema.get("type") in ("record", "enum", "fixed", "error"):
                self.named[schema["name"]] = schema
            for f in schema.get("fields", ()):
                self._collect(f["type"])
            for key in ("items", "values"):
                if key in schema:
                    self._collect(schema[key])

    def _var(self, stem: str) -> str:
        self._n += 1
        return f"{stem}{self._n}"

    def _const(self, value: Any) -> str:
        name = self._var("_k")
        self.consts[name] = value
        return name

    def _resolve(self, schema: Any) -> Any:
        if isinstance(schema, str) and schema in self.named:
            return self.named[schema]
        if isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)):
            return schema["type"]
        if isinstance(schema, dict) and schema.get("type") in self.named:
            return self.named[schema["type"]]
        return schema

    def _record_function(self, schema: dict[str, Any]) -> str:
        name = schema["name"]
        if name in self.functions:
            return self.functions[name]
        fn = self.functions[name] = f"_read_{len(self.functions)}"
        body: list[str] = []
        names = []
        for f in schema["fields"]:
            var = self._var("v")
            names.append((f["name"], var))
            self._emit(f["type"], var, body, 1)
        items = ", ".join(f"{k!r}: {v}" for k, v in names)
        self.lines += [f"def {fn}(data, pos):", *body, f"    return {{{items}}}, pos", ""]
        return fn

    def _int(self, target: str, out: list[str], ind: str) -> None:
        b = self._var("b")
        out += [
            f"{ind}{b} = data[pos]",
            f"{ind}if {b} & 0x80:",
            f"{ind}    {target}, pos = _varint(data, pos)",
            f"{ind}else:",
            f"{ind}    pos += 1",
            f"{ind}    {target} = ({b} >> 1) ^ -({b} & 1)",
        ]

    def _emit(self, schema: Any, target: str, out: list[str], depth: int) -> None:
        ind = "    " * depth
        schema = self._resolve(schema)
        if isinstance(schema, list):
            self._union(schema, target, out, depth)
            return
        kind = schema if isinstance(schema, str) else schema["type"]
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        if logical not in (None, "timestamp-micros", "date"):
            raise _Unsupported(str(logical))
        if kind == "null":
            out.append(f"{ind}{target} = None")
        elif kind == "boolean":
            b = self._var("b")
            out += [
                f"{ind}{b} = data[pos]",
                f"{ind}pos += 1",
                f"{ind}if {b} > 1:",
                f"{ind}    raise _Unusual('boolean')",
                f"{ind}{target} = {b} == 1",
            ]
        elif kind in ("int", "long"):
            self._int(target, out, ind)
            if logical == "timestamp-micros" and kind == "long":
                out.append(f"{ind}{target} = _EPOCH + _timedelta(microseconds={target})")
            elif logical == "date" and kind == "int":
                out.append(f"{ind}{target} = _fromordinal({target} + _DAYS_SHIFT)")
            elif logical is not None:
                raise _Unsupported(f"{kind}/{logical}")
        elif kind in ("double", "float"):
            fmt = "_unpack_double" if kind == "double" else "_unpack_float"
            size = 8 if kind == "double" else 4
            out += [f"{ind}({target},) = {fmt}(data, pos)", f"{ind}pos += {size}"]
        elif kind in ("string", "bytes"):
            n = self._var("n")
            self._int(n, out, ind)
            out += [f"{ind}if {n} < 0:", f"{ind}    raise _Unusual('length')"]
            value = f"data[pos : pos + {n}]"
            out += [f"{ind}{target} = {value}.decode()" if kind == "string" else f"{ind}{target} = {value}"]
            out.append(f"{ind}pos += {n}")
        elif kind == "enum":
            i = self._var("i")
            self._int(i, out, ind)
            symbols = self._const(tuple(schema["symbols"]))
            out += [f"{ind}if {i} < 0:", f"{ind}    raise _Unusual('enum')", f"{ind}{target} = {symbols}[{i}]"]
        elif kind in ("array", "map"):
            count, item, key = self._var("c"), self._var("x"), self._var("m")
            out.append(f"{ind}{target} = {{}}" if kind == "map" else f"{ind}{target} = []")
            out.append(f"{ind}while True:")
            inner = ind + "    "
            self._int(count, out, inner)
            out += [f"{inner}if {count} == 0:", f"{inner}    break", f"{inner}if {count} < 0:"]
            out.append(f"{inner}    {count} = -{count}")
            skip = self._var("s")
            self._int(skip, out, inner + "    ")
            out.append(f"{inner}for _ in range({count}):")
            if kind == "map":
                self._emit("string", key, out, depth + 2)
                self._emit(schema["values"], item, out, depth + 2)
                out.append(f"{inner}    {target}[{key}] = {item}")
            else:
                self._emit(schema["items"], item, out, depth + 2)
                out.append(f"{inner}    {target}.append({item})")
        elif kind in ("record", "error"):
            out.append(f"{ind}{target}, pos = {self._record_function(schema)}(data, pos)")
        else:
            raise _Unsupported(str(kind))

    def _union(self, branches: list[Any], target: str, out: list[str], depth: int) -> None:
        ind = "    " * depth
        resolved = [self._resolve(b) for b in branches]
        records = [isinstance(r, dict) and r.get("type") in ("record", "error") for r in resolved]
        if len(branches) > 3 and all(rec or r == "null" for rec, r in zip(records, resolved, strict=True)):
            # A union of many records (the payload): index a table rather than test each branch in turn.
            table = self._var("_t")
            entries = [
                f"({r['name']!r}, {self._record_function(r)})" if rec else "None"
                for rec, r in zip(records, resolved, strict=True)
            ]
            self.tables.append(f"{table} = ({', '.join(entries)},)")
            i, entry = self._var("u"), self._var("e")
            self._int(i, out, ind)
            out += [f"{ind}if {i} < 0:", f"{ind}    raise _Unusual('union index')", f"{ind}{entry} = {table}[{i}]"]
            out += [f"{ind}if {entry} is None:", f"{ind}    {target} = None", f"{ind}else:"]
            out += [f"{ind}    {target}, pos = {entry}[1](data, pos)", f"{ind}    {target} = ({entry}[0], {target})"]
            return
        b = self._var("b")
        out += [f"{ind}{b} = data[pos]", f"{ind}pos += 1"]
        for n, branch in enumerate(branches):
            # zig-zag n in one byte is 2n; anything else (a long varint) is left to fastavro
            out.append(f"{ind}{'if' if n == 0 else 'elif'} {b} == {2 * n}:")
            self._emit(branch, target, out, depth + 1)
            if records[n]:
                out.append(f"{ind}    {target} = ({resolved[n]['name']!r}, {target})")
        out += [f"{ind}else:", f"{ind}    raise _Unusual('union index')"]


def compile_reader(schema: Any) -> Callable[[bytes, int], tuple[Any, int]] | None:
    """A reader function for one parsed schema, or None when it uses something the generator does not cover."""
    try:
        source = _ReaderSource(schema)
    except _Unsupported:
        return None
    namespace: dict[str, Any] = {
        "_varint": _varint,
        "_Unusual": _Unusual,
        "_EPOCH": _EPOCH,
        "_timedelta": timedelta,
        "_fromordinal": date.fromordinal,
        "_DAYS_SHIFT": _DAYS_SHIFT,
        "_unpack_double": struct.Struct("<d").unpack_from,
        "_unpack_float": struct.Struct("<f").unpack_from,
        **source.consts,
    }
    exec(compile("\n".join(source.lines + source.tables), f"<avro reader {schema.get('name')}>", "exec"), namespace)  # noqa: S102
    reader: Callable[[bytes, int], tuple[Any, int]] = namespace[source.entry]
    return reader


# What the generated code raises on bytes it cannot read: past the end (IndexError, struct.error), bad UTF-8
# (UnicodeDecodeError, a ValueError), a date or time out of range (ValueError, OverflowError), or a value the
# schema does not allow (Unusual).
FALLBACK: tuple[type[Exception], ...] = (_Unusual, IndexError, ValueError, OverflowError, struct.error)
