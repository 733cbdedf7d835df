"""The Helm engine (helm-python-sdk, Helm 4 in-process): the only module importing helm_python.

Besides the ChartEngine, this module holds the thin Helm calls the registry adapters need
(chart repository index, OCI tags and pulls) and chart packaging, so that Helm stays in one
place. Helm errors never leave this module: they become InvalidChart, RenderFailed or
RegistryUnavailable.

What `helm template` does that Helm's engine does not, and is therefore done here:
- the chart's `kubeVersion` constraint is checked against the requested Kubernetes version
  (Helm checks it in its install action, not while rendering);
- NOTES.txt files and templates rendering to blank text are dropped;
- each template's output is split into documents as Helm's release tooling splits it
  (`split_manifests`), and the chart's `crds/` files come first (`helm template
  --include-crds`).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import queue
import re
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import helm_python
from helm_python import _native

from lamina.adapters import archives
from lamina.domain import semver
from lamina.domain.errors import InvalidChart, Issue, RegistryUnavailable, RenderFailed
from lamina.ports import LoadedChart

T = TypeVar("T")

NETWORK_TIMEOUT_SECONDS = 30.0
# Packaged files get this modification time (1980-01-01), so that an archive's bytes, and
# hence its digest, depend only on the chart's content: Helm 4 stores file mtimes.
_PACKAGE_MTIME = 315_532_800
# Helm names the failing template as `<chart>/templates/<file>:<line>[:<col>]`, in
# "execution error at (path:1:4)", "parse error at (path:2)" and "path:1:6\n  executing".
_TEMPLATE_AT = re.compile(r"([^\s:()\"<>]+/templates/[^\s:()\"<>]+):\d+")
_NOTES = "NOTES.txt"
# Helm's releaseutil separator: `---` at the start of the text or right after a newline,
# with the whitespace before that newline and all whitespace after the dashes. Go's `\s` is
# exactly [\t\n\f\r ].
_HELM_SEPARATOR = re.compile(r"(?:\A|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")
# What Go's unicode.IsSpace accepts (Python's str.isspace also takes \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    map(chr, range(0x2000, 0x200B))
)


# Template functions whose output differs between renders of the same values.
_NONDETERMINISTIC = re.compile(
    r"\b(?:rand(?:Alpha|AlphaNum|Numeric|Ascii|Bytes|Int)|uuidv4|shuffle|bcrypt|htpasswd"
    r"|gen(?:CA|CAWithKey|PrivateKey|SelfSignedCert|SelfSignedCertWithKey|SignedCert"
    r"|SignedCertWithKey)|now|date|dateInZone|unixEpoch)\b"
)
_TPL = re.compile(r"\btpl\b")


class HelmChart:
    """A chart loaded by Helm (ports.LoadedChart); thread-safe, rendered again in ~1 ms.

    Helm's render mutates a chart with subcharts: resolving `condition`/`tags` removes the
    disabled subcharts from the loaded chart itself, for every later render (and racing
    with concurrent ones). So a chart with subcharts is rendered from a fresh load of its
    archive each time; the held one is only inspected, which leaves it intact.
    """

    def __init__(self, chart: helm_python.Chart, archive: bytes) -> None:
        self._chart = chart
        self._metadata = chart.metadata
        self._has_subcharts = bool(chart.dependencies or self._metadata.get("dependencies"))
        templates = [str(t.get("data", "")) for t in chart.templates]
        if self._has_subcharts:
            templates += _subchart_templates(archive)
        self._random = any(map(_NONDETERMINISTIC.search, templates))
        self._tpl = any(map(_TPL.search, templates))
        self._tpl_in_defaults = self._tpl and "{{" in json.dumps(chart.values, default=str)
        # Without subcharts the CRDs never change: read once, not at every render.
        self._crds = None if self._has_subcharts else _crd_files(chart)
        # Kept only where renders need a fresh load, to not hold every archive twice.
        self._archive = archive if self._has_subcharts else b""

    @contextlib.contextmanager
    def renderable(self) -> Iterator[helm_python.Chart]:
        """A Helm chart that may be rendered (and so changed) by the caller."""
        if not self._has_subcharts:
            yield self._chart
            return
        with helm_python.Chart.load_archive(self._archive) as fresh:
            yield fresh

    @property
    def metadata(self) -> dict[str, Any]:
        """The chart's Chart.yaml as a dict (a copy: callers may change it)."""
        return copy.deepcopy(self._metadata)

    @property
    def name(self) -> str:
        return str(self._metadata.get("name", ""))

    @property
    def version(self) -> str:
        return str(self._metadata.get("version", ""))


def _held(chart: LoadedChart) -> HelmChart:
    if not isinstance(chart, HelmChart):
        raise TypeError(f"HelmEngine needs charts it loaded itself, got {type(chart).__name__}")
    return chart


def _helm_chart(chart: LoadedChart) -> helm_python.Chart:
    """The held Helm chart, for inspection only (never render it: see HelmChart)."""
    return _held(chart)._chart


class HelmEngine:
    """ports.ChartEngine on Helm 4; archives pass archives.check_archive before Helm sees them."""

    def __init__(
        self,
        *,
        max_archive_bytes: int = archives.MAX_ARCHIVE_BYTES,
        max_unpacked_bytes: int = archives.MAX_UNPACKED_BYTES,
        max_members: int = archives.MAX_MEMBERS,
    ) -> None:
        self._limits = {
            "max_bytes": max_archive_bytes,
            "max_unpacked_bytes": max_unpacked_bytes,
            "max_members": max_members,
        }

    def load(self, archive: bytes) -> HelmChart:
        """The chart in `archive`; InvalidChart (`chart_*` codes) when hostile or not a chart."""
        archives.check_archive(archive, **self._limits)
        try:
            return HelmChart(helm_python.Chart.load_archive(archive), archive)
        except helm_python.HelmError as error:
            message = f"Helm cannot load the chart: {error.detail}"
            raise InvalidChart(message, issues=[Issue("", "chart_invalid", message)]) from None

    def default_values(self, chart: LoadedChart) -> dict[str, Any]:
        """Defaults as Helm coalesces them: subchart defaults sit under the subchart's key
        (with `global` copied in); `Chart.values` alone would hold the parent's file only.
        The `null`s of the chart's own values.yaml stay: they are chart values Helm receives,
        which the library's merge leaves out."""
        helm_chart = _helm_chart(chart)
        merged = helm_chart.merge_values({})
        _keep_nulls(merged, helm_chart.values)
        return merged

    def values_schema(self, chart: LoadedChart) -> dict[str, Any] | None:
        """The chart's own values.schema.json (render checks subchart schemas too)."""
        return _helm_chart(chart).schema

    def render(
        self,
        chart: LoadedChart,
        *,
        values: dict[str, Any],
        release: str,
        namespace: str,
        kube_version: str | None,
        api_versions: list[str],
    ) -> dict[str, str]:
        """`helm template --include-crds`: {path: text} with paths as Helm names them, the
        chart's CRD files first (`webapp/crds/x.yaml`, subcharts' after, as Helm installs
        them), then templates in path order (`webapp/templates/x.yaml`,
        `umbrella/charts/sub/templates/y.yaml`).

        A template's text is its documents as Helm's manifest holds them, each
        `---\n<document>\n` (see `split_manifests`); a CRD file's text is the file as is, in
        the same framing. Parsing a text gives the objects Helm would apply.

        RenderFailed codes: `kube_version_incompatible` (the chart's kubeVersion excludes
        `kube_version`), `invalid_kube_version`, `invalid_values` (a values schema says no,
        one issue per violation), `render_failed` (a template failed; the message names it).
        Issue paths are "" for the caller to fill in.
        """
        held = _held(chart)
        if kube_version is not None:
            _check_kube_version(held._metadata, kube_version)
        options: dict[str, Any] = {
            "name": release,
            "namespace": namespace,
            "is_install": True,  # as `helm template` renders: .Release.IsInstall is true
            "api_versions": list(api_versions),
        }
        if kube_version is not None:
            options["kube_version"] = kube_version
        with held.renderable() as helm_chart:
            rendered = _render(helm_chart, values, options, root=held.name)
            # Asked after rendering: Helm has dropped the disabled subcharts (and their CRDs).
            files = held._crds if held._crds is not None else _crd_files(helm_chart)
            files = dict(files)
        for path, text in sorted(rendered.items()):
            if path.rsplit("/", 1)[-1] != _NOTES and text.strip():
                files[path] = "".join(f"---\n{doc}\n" for doc in split_manifests(text))
        return files

    def may_vary(self, chart: LoadedChart, values: dict[str, Any]) -> bool:
        """Whether two renders of `chart` with `values` may differ: a template draws random
        values or reads the clock, or `tpl` may run template text found in the values."""
        held = _held(chart)
        if held._random or not held._tpl:
            return held._random
        return held._tpl_in_defaults or "{{" in json.dumps(values, default=str)

    def digest(self, archive: bytes) -> str:
        """`sha256:<hex>` of the archive bytes (what index.yaml states, with the prefix)."""
        return archives.sha256_digest(archive)


def engine_version() -> str:
    """The version of the Helm SDK that renders charts (`v4.2.3`)."""
    return str(helm_python.helm_sdk_version())


def split_manifests(text: str) -> list[str]:
    """The documents of one template's output, exactly as Helm's releaseutil splits them
    before parsing: on `---` at a line start, whatever follows the dashes on that line
    opening the next document (so `---# comment` is a separator and a comment), each
    document's leading whitespace removed and its trailing whitespace kept. Helm writes
    each one followed by a newline, which a `|+` block at its end keeps."""
    parts = _HELM_SEPARATOR.split(text.lstrip(_GO_SPACE))
    return [part.lstrip(_GO_SPACE) for part in parts if part]


def _keep_nulls(merged: dict[str, Any], own: dict[str, Any]) -> None:
    """Put back into `merged` the null values of `own` (the chart's values.yaml)."""
    for key, value in own.items():
        if value is None:
            merged.setdefault(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            _keep_nulls(merged[key], value)


def _subchart_templates(archive: bytes, depth: int = 0) -> list[str]:
    """The template texts of every chart inside `archive` (a checked chart archive), nested
    subchart archives included; undecodable texts count as templates that may vary."""
    texts: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            data = tar.extractfile(member)
            body = data.read() if data else b""
            if member.name.endswith(".tgz") and "/charts/" in member.name and depth < 5:
                texts += _subchart_templates(body, depth + 1)
            elif "/templates/" in member.name:
                texts.append(body.decode("utf-8", "replace"))
    return texts


def _crd_files(chart: helm_python.Chart) -> dict[str, str]:
    return {crd["filename"]: f"---\n{crd['data']}\n" for crd in chart.crds}


def _chart_name(chart: LoadedChart) -> str:
    return str(chart.metadata.get("name", ""))


def _render(
    chart: helm_python.Chart, values: dict[str, Any], options: dict[str, Any], *, root: str
) -> dict[str, str]:
    # Chart.render() has no kube_version/api_versions options, the native call has.
    try:
        text = _native.call_string(
            "helm_render", chart._raw(), json.dumps(values), json.dumps(options)
        )
    except helm_python.HelmValuesError as error:
        messages = _schema_messages(error.detail, root=root)
        raise RenderFailed(
            "The values do not meet the chart's values schema",
            issues=[Issue("", "invalid_values", message) for message in messages],
        ) from None
    except helm_python.HelmError as error:
        message = _render_message(error.detail)
        raise RenderFailed(message, issues=[Issue("", "render_failed", message)]) from None
    rendered: dict[str, str] = json.loads(text)
    return rendered


def _render_message(detail: str) -> str:
    """Helm's detail, led by the failing template's path when Helm names one."""
    found = _TEMPLATE_AT.search(detail)
    if found is None:
        return f"Rendering failed: {detail}"
    return f"Template {found.group(1)} failed: {detail}"


def _schema_messages(detail: str, *, root: str) -> list[str]:
    """One message per violation of Helm's report, which reads
    "<chart>:\\n- at '/x': problem\\n<subchart>:\\n- ..."; subchart ones name the subchart."""
    messages: list[str] = []
    current = root
    for line in detail.splitlines():
        line = line.strip()
        if line.startswith("- "):
            text = line[2:]
            messages.append(text if current == root else f"{current}: {text}")
        elif line.endswith(":") and " " not in line:
            current = line[:-1]
    return messages or [detail.strip()]


def _check_kube_version(metadata: dict[str, Any], kube_version: str) -> None:
    """What Helm's install action checks: the Kubernetes version meets Chart.yaml kubeVersion."""
    try:
        version = semver.parse_version(kube_version)
    except ValueError as error:
        message = f"The Kubernetes version {kube_version!r} is not a version: {error}"
        raise RenderFailed(message, issues=[Issue("", "invalid_kube_version", message)]) from None
    required = str(metadata.get("kubeVersion") or "").strip()
    if not required:
        return
    try:
        allowed = semver.parse_constraint(required).allows(version)
    except ValueError as error:
        allowed = False
        required = f"{required} (unreadable: {error})"
    if not allowed:
        message = (
            f"Chart {metadata.get('name', '')} requires kubeVersion {required}, which Kubernetes "
            f"{kube_version} does not meet"
        )
        raise RenderFailed(message, issues=[Issue("", "kube_version_incompatible", message)])


# --- packaging ----------------------------------------------------------------------------


def package_chart(directory: Path, *, version: str | None = None) -> bytes:
    """Archive bytes of the chart directory `directory` (`helm package`), optionally with
    its version overridden. Deterministic: the same files give the same bytes, because the
    chart is packaged from a copy whose modification times are all set to one fixed time.
    Raises InvalidChart (`chart_invalid`) when Helm refuses the directory."""
    with tempfile.TemporaryDirectory(prefix="lamina-package-") as scratch:
        staged = Path(scratch) / "chart"
        shutil.copytree(directory, staged)
        _pin_mtimes(staged)
        out = Path(scratch) / "out"
        out.mkdir()
        try:
            archive = helm_python.package(staged, destination=out, version=version)
        except helm_python.HelmError as error:
            message = f"Helm cannot package {directory}: {error.detail}"
            raise InvalidChart(message, issues=[Issue("", "chart_invalid", message)]) from None
        return Path(archive).read_bytes()


def _pin_mtimes(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in [*files, *dirs]:
            os.utime(Path(folder) / name, (_PACKAGE_MTIME, _PACKAGE_MTIME))
    os.utime(root, (_PACKAGE_MTIME, _PACKAGE_MTIME))


# --- registries ---------------------------------------------------------------------------


def repo_index(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = NETWORK_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """The parsed index.yaml of the HTTP chart repository at `url`
    (RegistryUnavailable naming the URL, never the password, when that fails)."""

    def download() -> dict[str, Any]:
        return helm_python.repo_index(url, username=username, password=password)

    index = _network_call(
        download, what=f"the chart repository {safe_url(url)}", timeout=timeout, secret=password
    )
    if not isinstance(index, dict) or not isinstance(index.get("entries"), dict):
        raise RegistryUnavailable(
            f"The chart repository {safe_url(url)} answered an index without entries"
        )
    return index


def oci_tags(
    ref: str,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = NETWORK_TIMEOUT_SECONDS,
) -> list[str]:
    """Semver tags of `oci://host[:port]/path/chart`, newest first, as Helm lists them;
    [] when the registry does not know the chart (HTTP 404)."""

    def list_tags() -> list[str]:
        with _RegistryClient(ref, username, password) as client:
            return client.tags(ref)

    return _network_call(
        list_tags, what=safe_url(ref), timeout=timeout, secret=password, on_missing=list
    )


def oci_pull(
    ref: str,
    version: str,
    *,
    max_bytes: int,
    username: str | None = None,
    password: str | None = None,
    timeout: float = NETWORK_TIMEOUT_SECONDS,
) -> bytes:
    """The archive bytes of `oci://…/chart` at `version`; InvalidChart (`chart_too_large`)
    over `max_bytes`. Helm downloads the whole archive before the size can be checked."""

    def pull() -> bytes:
        with (
            tempfile.TemporaryDirectory(prefix="lamina-pull-") as scratch,
            _RegistryClient(ref, username, password) as client,
        ):
            client.pull(ref, destination=scratch, version=version)
            return _read_single_archive(Path(scratch), max_bytes)

    where = f"{safe_url(ref)} version {version}"
    return _network_call(pull, what=where, timeout=timeout, secret=password)


def _read_single_archive(folder: Path, max_bytes: int) -> bytes:
    found = sorted(folder.glob("*.tgz"))
    if len(found) != 1:
        raise RegistryUnavailable(f"Helm's pull produced {len(found)} archives instead of one")
    size = found[0].stat().st_size
    if size > max_bytes:
        raise archives.too_large(max_bytes)
    return found[0].read_bytes()


class _RegistryClient:
    """A Helm registry client with a private, throw-away credentials file: Lamina never reads
    or writes the Helm or Docker logins of the user it runs as."""

    def __init__(self, ref: str, username: str | None, password: str | None) -> None:
        self._host = urlsplit(ref).netloc
        self._plain_http = is_loopback(ref)
        self._scratch = tempfile.TemporaryDirectory(prefix="lamina-oci-")
        self._credentials = (username, password)
        self.client = helm_python.RegistryClient(
            plain_http=self._plain_http,
            credentials_file=Path(self._scratch.name) / "config.json",
        )

    def __enter__(self) -> helm_python.RegistryClient:
        username, password = self._credentials
        if username and password:
            try:
                self.client.login(self._host, username, password, plain_http=self._plain_http)
            except BaseException:
                self.__exit__()
                raise
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self._scratch.cleanup()


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine (127.0.0.0/8, localhost, ::1): only those are
    spoken to in plain HTTP, every other registry needs TLS."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    return host == "::1" or re.fullmatch(r"127(?:\.\d{1,3}){3}", host) is not None


def safe_url(url: str) -> str:
    """`url` without any password written into it, fit for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def _network_call(
    work: Callable[[], T],
    *,
    what: str,
    timeout: float,
    secret: str | None,
    on_missing: Callable[[], T] | None = None,
) -> T:
    """Run a Helm network call with a deadline, mapping Helm errors to RegistryUnavailable.

    Helm's own HTTP timeout is 120 s; a registry that accepts connections and never answers
    would hold the caller that long. The call runs in a daemon thread and is abandoned (it
    ends with Helm's timeout) when `timeout` passes first. When the registry answers 404
    and `on_missing` is given, its result is returned instead.
    """
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            box.put((True, work()))
        except BaseException as error:  # handed over to the waiting caller
            box.put((False, error))

    threading.Thread(target=run, name="lamina-helm-network", daemon=True).start()
    try:
        ok, outcome = box.get(timeout=timeout)
    except queue.Empty:
        raise RegistryUnavailable(f"{what} did not answer within {timeout:g} s") from None
    if ok:
        result: T = outcome
        return result
    if isinstance(outcome, helm_python.HelmError):
        detail = outcome.detail.replace(secret, "***") if secret else outcome.detail
        if on_missing is not None and "status code 404" in detail:
            return on_missing()
        raise RegistryUnavailable(f"Cannot read {what}: {detail}") from None
    raise outcome
