"""How commands read the files users hand them (`click.File` arguments, `-` for stdin).

A file that is not UTF-8 text, or not JSON, is an `error:` naming the file and what is wrong with
it, where the bytes would otherwise end in a decoding traceback.
"""

from __future__ import annotations

import json
from typing import IO, Any

from port_aws_exporter.cli.output import fail


def input_name(stream: IO[Any]) -> str:
    """The file's name as the user gave it (`-` reads as "standard input")."""
    name = str(getattr(stream, "name", "-"))
    return "standard input" if name in {"-", "<stdin>"} else name


def read_text(stream: IO[Any]) -> str:
    """The whole text of `stream`; an `error:` when it is not UTF-8."""
    try:
        content = stream.read()
    except UnicodeDecodeError as error:
        fail(f"cannot read {input_name(stream)}: not UTF-8 text ({error.reason} at byte {error.start})")
    if isinstance(content, bytes):
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError as error:
            fail(f"cannot read {input_name(stream)}: not UTF-8 text ({error.reason} at byte {error.start})")
    return str(content)


def read_json(stream: IO[Any]) -> Any:
    """The JSON value in `stream`; an `error:` when it is not UTF-8 text or not JSON."""
    text = read_text(stream)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"{input_name(stream)} is not JSON: {error}")
