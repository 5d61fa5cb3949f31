"""The README is the user's manual: every setting it must name, and the two commands.

The repository also carries its own docs, so nothing in it may point outside it: a
person who clones it has nothing beside it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from stream_app.config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")

# Written in pieces so that this file never matches what it looks for.
OUTSIDE_FILES = ("../" + "shared", "DES" + "IGN.md", "notes/" + "RUN" + "TIME.md")
CITATIONS = re.compile(
    "|".join(
        (
            re.escape("RUN" + "TIME.md"),
            r"\b" + "DES" + r"IGN\b",  # the design file, cited by section
            re.escape("seeds" + "/"),
            r"\bseeds?\s+0\d\d\b",  # a seed file by its number
            r"\b0\d\d_[0-9a-f]{16}\b",  # a seed file by its name
        )
    )
)
SCANNED_TREES = ("stream_app", "tests", "bench")
ALLOWED_SCHEMES = ("http://", "https://", "mailto:")

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
PARENT_PATH = re.compile(r"(?<![\w.])\.\./[^\s`'\")\]>]*")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "deploy/README.md"]


def _outside_fences(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def link_targets(text: str) -> list[str]:
    """Every Markdown and HTML link target, outside code blocks and code spans."""
    targets: list[str] = []
    for line in _outside_fences(text):
        ref = REFERENCE.match(line)
        if ref:
            targets.append(ref.group(1))
            continue
        prose = INLINE_CODE.sub("", line)
        targets += INLINE_LINK.findall(prose) + HTML_LINK.findall(prose)
    return targets


def anchors(text: str) -> set[str]:
    """The heading anchors GitHub renders for a Markdown file."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for line in _outside_fences(text):
        heading = HEADING.match(line)
        if not heading:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1)).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def in_repository(document: str, target: str) -> str | None:
    """The target's path from the repository root, or None if it leaves the repository.

    `document` is the linking file's path from the root; a target starting with `/`
    is relative to the root, as GitHub renders it.
    """
    if target.startswith("/"):
        relative = posixpath.normpath(target.lstrip("/") or ".")
    else:
        relative = posixpath.normpath(posixpath.join(posixpath.dirname(document), target))
    return None if relative == ".." or relative.startswith("../") else relative


def link_problems(document: str, text: str) -> list[str]:
    """What is wrong with the links and paths of `text`, the file at `document`."""
    problems = [f"{document} mentions {word!r}" for word in OUTSIDE_FILES if word in text]
    leaving: set[str] = set()
    for target in link_targets(text):
        if not target or target.startswith(ALLOWED_SCHEMES):
            continue
        path, _, anchor = target.partition("#")
        relative = in_repository(document, path) if path else document
        if relative is None or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            problems.append(f"{document}: link {target!r} leaves the repository")
            leaving.add(target)
            continue
        linked = ROOT / relative
        if relative == document:
            headings = anchors(text)
        elif linked.exists():
            markdown = linked.suffix == ".md"
            headings = anchors(linked.read_text(encoding="utf-8")) if markdown else None
        else:
            problems.append(f"{document}: link {target!r} points at a missing file")
            continue
        if anchor and headings is not None and anchor not in headings:
            problems.append(f"{document}: link {target!r} names a missing heading")
    for mention in PARENT_PATH.findall(text):
        if mention not in leaving and in_repository(document, mention) is None:
            problems.append(f"{document}: path {mention!r} leaves the repository")
    return problems


def scanned_files() -> list[Path]:
    files = []
    for tree in SCANNED_TREES:
        for path in sorted((ROOT / tree).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append(path)
    return files


def hits(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in scanned_files():
        text = path.read_text(encoding="utf-8", errors="ignore")
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_every_setting_is_documented() -> None:
    missing = [
        f"STREAM_APP_{n.upper()}"
        for n in Settings.model_fields
        if f"STREAM_APP_{n.upper()}`" not in README
    ]
    assert not missing, f"document these settings in README.md: {missing}"


def test_quickstart_is_two_commands() -> None:
    assert "make dev" in README and "make test" in README
    assert "stream-app dev" in README


def test_the_docs_exist_and_the_readme_points_at_them() -> None:
    for doc in ("docs/architecture.md", "docs/runtime-notes.md"):
        assert (ROOT / doc).is_file(), f"{doc} is missing"
        assert f"]({doc})" in README, f"README.md should link {doc}"


def test_no_link_or_path_in_the_docs_leaves_the_repository_or_dangles() -> None:
    problems = []
    for document in documents():
        name = document.relative_to(ROOT).as_posix()
        problems += link_problems(name, document.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_the_link_checker_catches_what_it_must() -> None:
    text = (
        "# Here\n"
        "[a](https://example.com) [b](architecture.md#layers) [c](#here) [d](../README.md)\n"
        "[e](../../elsewhere.md) [f](missing.md) [g](file:///etc/passwd) [h](#nowhere)\n"
        "[i](architecture.md#no-such-heading) see `../../outside/x.md` and `../topics/`\n"
        "```\n[in a code block](nowhere.md)\n```\n"
        "and the notes in " + OUTSIDE_FILES[0] + "/notes\n"
    )
    assert link_problems("docs/example.md", text) == [
        f"docs/example.md mentions {OUTSIDE_FILES[0]!r}",
        "docs/example.md: link '../../elsewhere.md' leaves the repository",
        "docs/example.md: link 'missing.md' points at a missing file",
        "docs/example.md: link 'file:///etc/passwd' leaves the repository",
        "docs/example.md: link '#nowhere' names a missing heading",
        "docs/example.md: link 'architecture.md#no-such-heading' names a missing heading",
        "docs/example.md: path '../../outside/x.md' leaves the repository",
    ]
    assert link_problems("README.md", "see ../elsewhere/x.md") == [
        "README.md: path '../elsewhere/x.md' leaves the repository"
    ]
    assert anchors("# One event, end to end\n## Tansu, the embedded broker\n# A\n# A") == {
        "one-event-end-to-end",
        "tansu-the-embedded-broker",
        "a",
        "a-1",
    }
    assert in_repository("README.md", "docs/../topics/catalog.yaml") == "topics/catalog.yaml"
    assert in_repository("README.md", "/topics/") == "topics"


def test_no_code_points_at_files_outside_the_repository() -> None:
    pattern = re.compile("|".join(re.escape(word) for word in OUTSIDE_FILES))
    found = hits(pattern)
    assert not found, "cite docs/architecture.md or docs/runtime-notes.md instead:\n" + "\n".join(
        found
    )


def test_no_code_cites_the_design_notes_or_seed_files() -> None:
    found = hits(CITATIONS)
    assert not found, "cite docs/architecture.md or docs/runtime-notes.md instead:\n" + "\n".join(
        found
    )
