"""The relational schema, shared by SQLite and PostgreSQL.

JSON columns use the plain JSON type (not JSONB) so documents keep their key order.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = sa.DateTime(timezone=True)


def _table(name: str, *items: Any) -> sa.Table:
    # AUTOINCREMENT: SQLite must never hand a deleted row's id to a new row.
    return sa.Table(name, metadata, *items, sqlite_autoincrement=True)


orgs = _table(
    "orgs",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(63), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

api_tokens = _table(
    "api_tokens",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=True),
    sa.Column("revoked_at", Timestamp, nullable=True),
    sa.Column("last_used_at", Timestamp, nullable=True),
)

# One row per write through the API; never bodies or query strings (secrets live there).
audit_events = _table(
    "audit_events",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_id", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("route", sa.String(500), nullable=False),
    sa.Column("target", sa.JSON, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Index(None, "org_id", "id"),
)

profiles = _table(
    "profiles",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.String(200), nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("current_version", sa.Integer, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("archived_at", Timestamp, nullable=True),
    sa.UniqueConstraint("org_id", "name"),
    sa.Index(None, "org_id", "category"),
    sa.Index(None, "visibility"),
)

profile_tags = sa.Table(
    "profile_tags",
    metadata,
    sa.Column("profile_id", sa.ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag", sa.String(200), primary_key=True),
    sa.Index(None, "tag"),
)

profile_versions = _table(
    "profile_versions",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("profile_id", sa.ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("changelog", sa.Text, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("lock", sa.JSON, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("draft_id", sa.Integer, nullable=True),
    sa.UniqueConstraint("profile_id", "version"),
)

drafts = _table(
    "drafts",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("profile_id", sa.ForeignKey("profiles.id", ondelete="SET NULL"), nullable=True),
    sa.Column("base_version", sa.Integer, nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index(None, "org_id", "name"),
)

registries = _table(
    "registries",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("username", sa.Text, nullable=True),
    sa.Column("password_sealed", sa.Text, nullable=True),
    sa.Column("charts", sa.JSON, nullable=False),
    sa.Column("synced_at", Timestamp, nullable=True),
    sa.Column("sync_error", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("org_id", "name"),
)

pack_versions = _table(
    "pack_versions",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("registry_id", sa.ForeignKey("registries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("app_version", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("digest", sa.String(80), nullable=False),
    sa.Column("kube_version", sa.String(200), nullable=False),
    sa.Column("deprecated", sa.Boolean, nullable=False),
    sa.Column("urls", sa.JSON, nullable=False),
    sa.Column("created", sa.String(64), nullable=False),
    sa.Column("is_latest", sa.Boolean, nullable=False),
    sa.UniqueConstraint("registry_id", "name", "version"),
    sa.Index(None, "registry_id", "is_latest"),
)

clusters = _table(
    "clusters",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("kubernetes_version", sa.String(64), nullable=False),
    sa.Column("git_url", sa.Text, nullable=False),
    sa.Column("git_branch", sa.String(200), nullable=False),
    sa.Column("git_path", sa.String(500), nullable=False),
    sa.Column("git_mode", sa.String(16), nullable=False),
    sa.Column("git_username", sa.Text, nullable=True),
    sa.Column("git_token_sealed", sa.Text, nullable=True),
    sa.Column("git_age_recipient", sa.Text, nullable=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("commit_sha", sa.String(64), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("org_id", "name"),
)

instantiations = _table(
    "instantiations",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("cluster_id", sa.ForeignKey("clusters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("profile_id", sa.ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("bindings", sa.JSON, nullable=False),
    sa.Column("secrets_sealed", sa.JSON, nullable=False),
    sa.Column("overrides", sa.JSON, nullable=False),
    sa.Column("committed_at", Timestamp, nullable=False),
    sa.Index(None, "profile_id", "version"),
    sa.Index(None, "cluster_id"),
)

stack_drafts = _table(
    "stack_drafts",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("cluster_id", sa.ForeignKey("clusters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("base_revision", sa.Integer, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("addons", sa.JSON, nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("objects", sa.JSON, nullable=False),
    sa.Column("warnings", sa.JSON, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # The profile whose rollout dry run kept this draft for review (the next dry run of
    # that profile replaces it); NULL for every other draft.
    sa.Column("review_of", sa.Integer, nullable=True),
    sa.Index(None, "cluster_id", "review_of"),
)

stack_revisions = _table(
    "stack_revisions",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("cluster_id", sa.ForeignKey("clusters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("commit_sha", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("addons", sa.JSON, nullable=False),
    sa.Column("objects", sa.JSON, nullable=False),
    sa.Column("committed_at", Timestamp, nullable=False),
    sa.Column("draft_id", sa.Integer, nullable=True),
    sa.Column("committed_by", sa.Text, nullable=True),
    sa.UniqueConstraint("cluster_id", "revision"),
)

content_blobs = sa.Table(
    "content_blobs",
    metadata,
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)

render_outputs = sa.Table(
    "render_outputs",
    metadata,
    sa.Column("key", sa.String(71), primary_key=True),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # JSON [[source, object], ...] of the files' objects (contents.OBJECTS_FORMAT), or NULL
    sa.Column("objects", sa.Text, nullable=True),
)

commit_intents = sa.Table(
    "commit_intents",
    metadata,
    sa.Column("cluster_id", sa.ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("draft_id", sa.Integer, nullable=False),
    sa.Column("marker", sa.String(64), nullable=False),
    sa.Column("base_revision", sa.Integer, nullable=False),
    sa.Column("parent_sha", sa.String(64), nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

version_deprecations = sa.Table(
    "version_deprecations",
    metadata,
    sa.Column("profile_id", sa.ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

# Long work over many clusters: the request (secret values sealed apart), who asked, the
# lease of the worker running it, and one result row per cluster done. A job split into
# `parts` is never claimed itself: each part (`parent_id` names its job) is claimed,
# leased and resumed like a job, and records its results under its job.
jobs = _table(
    "jobs",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("secrets_sealed", sa.Text, nullable=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_id", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Column("worker", sa.String(200), nullable=True),
    sa.Column("lease_until", Timestamp, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("started_at", Timestamp, nullable=True),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.Column("parent_id", sa.Integer, nullable=True),
    sa.Column("parts", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "org_id", "id"),
    sa.Index(None, "state"),
    sa.Index(None, "parent_id"),
)

job_results = _table(
    "job_results",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("cluster_id", sa.Integer, nullable=False),
    sa.Column("cluster", sa.String(63), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.UniqueConstraint("job_id", "cluster_id"),
)

# Catalog sources: an org's approved lists of profiles (a Git branch or an HTTP document),
# with the entries of the last good sync kept as JSON.
catalog_sources = _table(
    "catalog_sources",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("branch", sa.String(200), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("access", sa.String(16), nullable=False),
    sa.Column("entries", sa.JSON, nullable=False),
    sa.Column("synced_at", Timestamp, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("org_id", "name"),
)

# Where a profile installed from a catalog (or a direct URL, source_id NULL) came from; a
# table apart, so that `profiles` is never rebuilt (see migration 0011).
catalog_installs = sa.Table(
    "catalog_installs",
    metadata,
    sa.Column("profile_id", sa.ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("source_id", sa.ForeignKey("catalog_sources.id", ondelete="SET NULL"), nullable=True),
    sa.Column("source_name", sa.String(63), nullable=False),
    sa.Column("entry", sa.String(63), nullable=False),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("installed_at", Timestamp, nullable=False),
    sa.Index(None, "source_id"),
)
