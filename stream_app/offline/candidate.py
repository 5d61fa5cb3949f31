"""A candidate policy scored against the logs: the inputs `stream-app evaluate` names.

The candidate is a snapshot file or, without one, the seeded priors. Decisions and
transitions come from JSON-lines files where given, else from the broker (both
topics are read when either file is missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stream_app.config.settings import Settings
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QTable, seeded_priors
from stream_app.offline.evaluate import (
    ArmResult,
    Evaluation,
    LoggedDecision,
    compare_arms,
    evaluate,
    parse_file,
    read_logged,
)
from stream_app.offline.snapshots import Snapshot


@dataclass(frozen=True, slots=True)
class CandidateScore:
    evaluation: Evaluation
    arms: list[ArmResult]
    """The logged arms compared, whatever the candidate (the live A/B split)."""


def candidate_table(snapshot: Path | None) -> QTable:
    """The Q-table of a snapshot file, or the seeded priors."""
    if snapshot is None:
        return seeded_priors()
    return Snapshot.model_validate_json(snapshot.read_bytes()).table()


async def score_candidate(
    settings: Settings,
    snapshot: Path | None,
    decisions: Path | None,
    transitions: Path | None,
) -> CandidateScore:
    table = candidate_table(snapshot)
    broker = ([], []) if decisions and transitions else await read_logged(settings)
    logged = parse_file(decisions, LoggedDecision) if decisions else broker[0]
    logged_transitions = parse_file(transitions, LeadTransition) if transitions else broker[1]
    return CandidateScore(
        evaluate(table, logged, logged_transitions, settings.ucb_c, settings.gamma),
        compare_arms(logged, logged_transitions),
    )
