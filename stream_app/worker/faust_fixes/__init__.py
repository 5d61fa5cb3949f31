"""Fixes for faust-streaming 0.15.3 losing or stalling input when a worker with tables restarts.

Upstream `Recovery.on_recovery_completed` resumes the stream partitions *before*
seeking them to the committed offsets. Records fetched in that window are
dropped, and the consumer's gap logic then commits past them: input is lost
(measured: 5–18 of 400 events in 6 of 7 kill/restart runs; docs/runtime-notes.md,
"Fixes to faust-streaming", has every measurement).
Same class as https://github.com/faust-streaming/faust/issues/216 and #217
(fixed upstream only for apps without tables) and #596 (open).

The recovery override below is upstream's method with one change: seek first, then
resume. The others, each with its measurement in its docstring: commit only
acknowledged offsets with nothing unacknowledged below them, following the fetch
across offset gaps (transaction markers, aborted or compacted-away records, records
deleted below the committed offset) instead of offset + 1 (`next_commit`, the
consumer thread reporting where each read began and ended), fetch for a snapshot of
the active partitions (a pause mid-fetch made aiokafka fetch every partition),
re-read partitions that stall but never a record still in flight (a slow LLM call
at concurrency > 1 was sent again every 5 s), a changelog partition assigned during a
recovery seeks from the start rather than crashing it, recovery reads each changelog to
its true end (the embedded broker's ListOffsets is short after a multi-record batch),
raw table keys so web routing finds the owner, a recovery counter, and records handed
to the agents without four tasks each (`PromptDelivery`). All are
installed through Faust's own settings (`TableManager`, `Table`, the transport), not
by monkeypatching. Remove each once upstream ships the equivalent.
"""

from stream_app.worker.faust_fixes.versions import TESTED_VERSIONS, check_versions

# Checked before any module of this package imports Faust's internals.
check_versions()

from stream_app.worker.faust_fixes.app import FixedApp, FixedTransport  # noqa: E402
from stream_app.worker.faust_fixes.commits import (  # noqa: E402
    ContiguousCommitConsumer,
    FetchedOffsets,
    FetchedRecords,
    SpanReportingConsumerThread,
    next_commit,
)
from stream_app.worker.faust_fixes.delivery import PromptDelivery  # noqa: E402
from stream_app.worker.faust_fixes.keys import RawKeyTable  # noqa: E402
from stream_app.worker.faust_fixes.recovery import (  # noqa: E402
    FixedTableManager,
    SeekBeforeResumeRecovery,
    start_offset,
)

__all__ = [
    "TESTED_VERSIONS",
    "ContiguousCommitConsumer",
    "FetchedOffsets",
    "FetchedRecords",
    "FixedApp",
    "FixedTableManager",
    "FixedTransport",
    "PromptDelivery",
    "RawKeyTable",
    "SeekBeforeResumeRecovery",
    "SpanReportingConsumerThread",
    "check_versions",
    "next_commit",
    "start_offset",
]
