"""The ``garden`` command lines that README.md and docs/*.md show, parsed out of the Markdown: fenced code blocks
(``\\`` continuations joined, ``#`` comments dropped), the rows of command tables and inline code spans."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SPAN = re.compile(r"`(garden [^`]+)`")
NOT_A_COMMAND = re.compile(r"^garden( [\w-]+)*: error")  # an error message quoted in the docs


@dataclass(frozen=True)
class DocCommand:
    """One ``garden`` command line as written in a Markdown file (``line``: 1-based line of its start)."""

    file: str
    line: int
    text: str

    def where(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


@dataclass(frozen=True)
class CodeBlock:
    """One fenced code block: its language tag, 1-based first line and text."""

    language: str
    line: int
    text: str


def code_blocks(markdown: str) -> list[CodeBlock]:
    """The fenced code blocks of a Markdown text, in order."""
    return [CodeBlock(m.group(1), markdown.count("\n", 0, m.start()) + 2, m.group(2))
            for m in FENCE.finditer(markdown)]


def shell_lines(block: CodeBlock) -> list[tuple[int, str]]:
    """The commands of a shell block: continuation lines joined, comments and blank lines dropped."""
    commands, pending, start = [], "", 0
    for number, raw in enumerate(block.text.splitlines(), start=block.line):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = " ".join((pending + line).split())
        pending = ""
        if text:
            commands.append((start, text))
    return commands


def doc_commands(path: Path, root: Path) -> list[DocCommand]:
    """Every ``garden ...`` command line of a Markdown file: in shell code blocks and in inline code spans."""
    markdown = path.read_text(encoding="utf-8")
    name = str(path.relative_to(root))
    found = []
    for block in code_blocks(markdown):
        if block.language in ("bash", "sh", "console", ""):
            found += [DocCommand(name, number, text) for number, text in shell_lines(block)
                      if text.startswith("garden ") and not NOT_A_COMMAND.match(text)]
    fenced = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), markdown)
    for number, line in enumerate(fenced.splitlines(), start=1):
        found += [DocCommand(name, number, " ".join(span.replace("\\|", "|").split())) for span in SPAN.findall(line)
                  if not NOT_A_COMMAND.match(span)]
    return found


def command_parser(parser: argparse.ArgumentParser, words: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The (sub-)parser that ``garden WORDS`` reaches and the sub-command names that led there."""
    path = []
    for word in words:
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subparsers or word not in subparsers[0].choices:
            break
        parser = subparsers[0].choices[word]
        path.append(word)
    return parser, path


def unknown_options(parser: argparse.ArgumentParser, command: str) -> tuple[list[str], list[str]]:
    """The sub-commands a documented ``garden`` line reaches and the ``--options`` in it that the reached parser
    does not accept (empty: every option the docs show exists)."""
    words = command.split()[1:]
    reached, path = command_parser(parser, words)
    options = re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", command)
    return path, [option for option in options if option not in reached._option_string_actions]
