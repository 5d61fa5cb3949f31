"""What the CLI and the web views need of a built worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from stream_app.config.settings import Settings
from stream_app.worker.qtable_view import QTableView
from stream_app.worker.topics import Topics


@dataclass
class Runtime:
    """Handles the CLI and the web views need after the app is built."""

    app: faust.App
    settings: Settings
    topics: Topics
    leads: Any
    q_view: QTableView
    topics_by_name: dict[str, faust.TopicT]
    ready_at: float | None = None

    @property
    def ready(self) -> bool:
        """Tables recovered, Q-table view caught up, not rebalancing: safe to serve."""
        return (
            self.app.tables.actives_ready
            and self.q_view.caught_up.is_set()
            and not self.app.rebalancing
        )
