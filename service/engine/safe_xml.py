"""Parsing untrusted XML (uploaded BPMN and DMN) without XXE, entity bombs or network access.

Two steps. A quick expat pass reads only the prolog (everything before the root element) and refuses a
DOCTYPE that declares entities or points at an external DTD: those are the XXE and "billion laughs"
vectors, and BPMN/DMN never need them. Then lxml parses with entity resolution, DTD loading and network
access switched off and libxml2's size limits on (no `huge_tree`), so even a document the first step
could not read is parsed inertly.
"""

from __future__ import annotations

import re
from xml.parsers import expat

from lxml import etree

DEFAULT_MAX_BYTES = 5_000_000


class XmlProblem(Exception):
    """The file is not XML we are willing to read. The message is one line; `line` is set when known."""

    def __init__(self, message: str, line: int | None = None, filename: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.filename = filename


class _PrologDone(Exception):
    """Raised from the expat handler at the root element: the prolog has been read."""


def _refuse_entity(parser: expat.XMLParserType, name: str) -> None:
    raise XmlProblem(
        f"DOCTYPE declares entity '{name}' at line {parser.CurrentLineNumber}: entity declarations are not "
        "allowed (XXE / entity expansion)",
        parser.CurrentLineNumber,
    )


def _check_prolog(content: bytes) -> None:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def on_doctype(name, system_id, public_id, has_internal_subset):
        if system_id or public_id:
            raise XmlProblem(
                f"DOCTYPE at line {parser.CurrentLineNumber} refers to an external DTD, which is not allowed",
                parser.CurrentLineNumber,
            )

    def on_entity(name, *_args):
        _refuse_entity(parser, name)

    def on_external_reference(*_args):
        raise XmlProblem("external entity references are not allowed", parser.CurrentLineNumber)

    def on_root(*_args):
        raise _PrologDone

    parser.StartDoctypeDeclHandler = on_doctype
    parser.EntityDeclHandler = on_entity
    parser.UnparsedEntityDeclHandler = on_entity
    parser.ExternalEntityRefHandler = on_external_reference
    parser.StartElementHandler = on_root
    try:
        parser.Parse(content, True)
    except _PrologDone:
        return
    except (expat.ExpatError, ValueError):  # ValueError: multi-byte encodings
        # Malformed, or an encoding expat cannot read (e.g. Shift_JIS). lxml reports malformed XML better;
        # for exotic encodings, the markup bytes are ASCII, so a plain search still finds declarations.
        match = re.search(rb"<!ENTITY\s+(?:%\s*)?([^\s>]+)", content)
        if match:
            line = content.count(b"\n", 0, match.start()) + 1
            raise XmlProblem(
                f"DOCTYPE declares entity '{match.group(1).decode('ascii', 'replace')}' at line {line}: "
                "entity declarations are not allowed (XXE / entity expansion)",
                line,
            ) from None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def parse_xml(content: bytes, *, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted XML and return its root element, or raise `XmlProblem` saying why not.

    `filename` is only recorded on the exception (`XmlProblem.filename`); messages leave it out so callers
    can prefix it their own way.
    """
    try:
        return _parse(content, max_bytes)
    except XmlProblem as problem:
        problem.filename = filename
        raise


def _parse(content: bytes, max_bytes: int) -> etree._Element:
    if isinstance(content, str):
        content = content.encode("utf-8")
    if len(content) > max_bytes:
        raise XmlProblem(f"file is too large ({len(content):,} bytes; the limit is {max_bytes:,})")
    if not content.strip():
        raise XmlProblem("file is empty")
    _check_prolog(content)
    try:
        root = etree.fromstring(content, parser=_parser(), base_url=None)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        where = f" at line {line}" if line else ""
        message = re.sub(r",? line \d+, column \d+$", "", _one_line(exc.msg or exc))
        raise XmlProblem(f"not well-formed XML{where}: {message}", line) from None
    except (etree.LxmlError, ValueError) as exc:
        raise XmlProblem(f"cannot read XML: {_one_line(exc)}") from None
    if root is None:
        raise XmlProblem("file has no root element")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None:
        for entity in dtd.iterentities():  # belt and braces: the prolog check should have refused it
            raise XmlProblem(f"DOCTYPE declares entity '{entity.name}': entity declarations are not allowed")
    return root
