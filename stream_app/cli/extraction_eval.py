"""`stream-app extraction-eval`: how right each extraction provider is, on labelled conversations.

The labelled sets ship in the package (`domain/extraction/labelled/`): `dev`, which
the rules may be tuned on, and `locked`, which nobody tunes on. For the locked set
the command prints aggregates only and refuses `--misses`: listing its errors is
how a held-out set quietly becomes a training set.
"""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stream_app.cli import render
from stream_app.cli.settings import load_settings

if TYPE_CHECKING:
    from rich.table import Table

    from stream_app.domain.extraction.base import Extractor
    from stream_app.domain.extraction.scoring import DimensionResult, Pair


class Provider(StrEnum):
    RULES = "rules"
    OPENAI = "openai"


class LabelledSet(StrEnum):
    DEV = "dev"
    LOCKED = "locked"


def labelled_records(name: LabelledSet) -> list[dict[str, Any]]:
    """The records of one shipped labelled set."""
    from stream_app.domain.extraction.scoring import parse_records

    path = resources.files("stream_app.domain.extraction") / "labelled" / f"{name.value}.jsonl"
    return parse_records(path.read_text(encoding="utf-8"))


def extraction_eval(
    provider: Annotated[
        list[Provider] | None,
        typer.Option(help="Provider to score; repeat for several (default: rules)."),
    ] = None,
    labelled: Annotated[
        LabelledSet, typer.Option("--set", help="dev (tune on it) or locked (held out).")
    ] = LabelledSet.LOCKED,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write every number to this JSON file.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Bootstrap seed (same seed, same intervals).")] = 17,
    draws: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 1000,
    misses: Annotated[bool, typer.Option(help="List every disagreement (dev set only).")] = False,
) -> None:
    """Per-dimension precision, recall and F1 with 95% CIs, and the intent confusion matrix."""
    from stream_app.domain.extraction.scoring import bootstrap, confusion, report_of

    if misses and labelled is LabelledSet.LOCKED:
        render.error(ValueError("--misses lists the dev set only: the locked set stays unread"))
        raise typer.Exit(2)
    records = labelled_records(labelled)
    results: dict[str, Any] = {"set": labelled.value, "items": len(records), "seed": seed}
    out = render.stdout()
    for name in provider or [Provider.RULES]:
        pairs, unverified = asyncio.run(_predict(_extractor(name), records))
        scores = bootstrap(pairs, seed=seed, draws=draws)
        matrix = confusion(pairs)
        out.print(_scores_table(f"{name.value} on {labelled.value} ({len(records)} items)", scores))
        out.print(_confusion_table(matrix))
        out.print(f"unverified quotes dropped (hallucinations): {unverified}")
        if misses:
            for m in report_of(pairs).misses:
                out.print(
                    f"{m.item_id:<6} {m.dimension:<18} want={m.expected!r} got={m.predicted!r}"
                )
        results[name.value] = {
            "unverified_quotes": unverified,
            "dimensions": {
                d: {
                    m: {"value": getattr(r.point, m), "ci95": [r.ci[m].low, r.ci[m].high]}
                    for m in r.ci
                }
                for d, r in scores.items()
            },
            "intent_confusion": [
                {"labelled": e, "predicted": p, "count": n} for (e, p), n in sorted(matrix.items())
            ],
        }
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def _extractor(name: Provider) -> Extractor:
    if name is Provider.OPENAI:
        from stream_app.worker.openai_extractor import OpenAIExtractor

        settings = load_settings()
        try:
            return OpenAIExtractor.from_settings(settings)
        except ValueError as exc:
            render.error(exc)
            raise typer.Exit(2) from None
    from stream_app.domain.extraction.rules import RulesExtractor

    return RulesExtractor(load_settings().keyword_scan)  # the opt-out scan the worker runs


async def _predict(extractor: Extractor, records: list[dict[str, Any]]) -> tuple[list[Pair], int]:
    """Every record extracted (concurrently; the provider bounds its own concurrency),
    and how many quotes the provider gave that were not the family's words."""
    from stream_app.domain.extraction.scoring import Pair, conversation_of, dimensions_of

    extractions = await asyncio.gather(*(extractor.extract(conversation_of(r)) for r in records))
    pairs = [
        Pair(r["id"], r["labels"], dimensions_of(e))
        for r, e in zip(records, extractions, strict=True)
    ]
    return pairs, sum(e.unverified_quotes for e in extractions)


def _cell(result: DimensionResult, metric: str) -> str:
    ci = result.ci[metric]
    return f"{getattr(result.point, metric):.3f} [{ci.low:.2f}, {ci.high:.2f}]"


def _scores_table(title: str, scores: dict[str, DimensionResult]) -> Table:
    from rich.table import Table

    from stream_app.domain.extraction.scoring import METRICS

    table = Table(title=f"{title}: value [95% CI]", title_justify="left")
    table.add_column("dimension")
    for m in METRICS:
        table.add_column(m, justify="right")
    for d, r in scores.items():
        table.add_row(d, *(_cell(r, m) for m in METRICS))
    return table


def _confusion_table(matrix: dict[tuple[str, str], int]) -> Table:
    from rich.table import Table

    from stream_app.domain.extraction.scoring import INTENTS

    table = Table(title="intent confusion (rows labelled, columns predicted)", title_justify="left")
    table.add_column("labelled")
    for p in INTENTS:
        table.add_column(p[:8], justify="right")
    for e in INTENTS:
        table.add_row(e, *(str(matrix.get((e, p), 0) or ".") for p in INTENTS))
    return table
