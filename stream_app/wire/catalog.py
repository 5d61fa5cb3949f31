"""The topic catalog (topics/catalog.yaml) as typed data, and its JSON Schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from stream_app.wire.models import SCHEMA_MODELS

TOPICS_DIR = Path(__file__).resolve().parent / "_topics"
CATALOG_PATH = TOPICS_DIR / "catalog.yaml"
SCHEMAS_DIR = TOPICS_DIR / "schemas"


class TopicSpec(BaseModel):
    """One topic: what it carries and how the broker must keep it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    key: str
    partitions: int | None = Field(default=None, ge=1)
    cleanup_policy: Literal["delete", "compact"]
    retention_ms: int = Field(ge=-1)
    schemas: tuple[str, ...]

    def partition_count(self, default: int) -> int:
        """Fixed partitions win; lead-keyed topics share the app's count."""
        return self.partitions or default

    def config(self, min_insync_replicas: int | None = None) -> dict[str, str]:
        """The broker configs this topic is created with and verified against.

        `min.insync.replicas` depends on the cluster, not the topic, so it comes from
        Settings (`Settings.insync_replicas`); without it the broker's default applies.
        """
        config = {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}
        if min_insync_replicas is not None:
            config["min.insync.replicas"] = str(min_insync_replicas)
        return config


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topics: tuple[TopicSpec, ...]

    def __getitem__(self, name: str) -> TopicSpec:
        for spec in self.topics:
            if spec.name == name:
                return spec
        raise KeyError(f"topic {name!r} is not in the catalog ({CATALOG_PATH})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.topics)


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    return Catalog.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def schema_documents() -> dict[str, str]:
    """Every published schema, by file name, exactly as it is written to disk."""
    documents: dict[str, str] = {}
    for stem, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema(mode="validation")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": stem, **schema}
        documents[f"{stem}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return documents


def write_schemas(directory: Path = SCHEMAS_DIR) -> list[Path]:
    """Regenerate topics/schemas/ from the models, removing schemas no model backs."""
    directory.mkdir(parents=True, exist_ok=True)
    documents = schema_documents()
    for stale in directory.glob("*.schema.json"):
        if stale.name not in documents:
            stale.unlink()
    written = []
    for name, text in documents.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
