"""Source documents of other systems, written for the suite from the published formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def text(name: str, *, chart_repo: str = "http://127.0.0.1:1/charts") -> str:
    """A source document's text, its `@CHART_REPO@` pointing at `chart_repo`."""
    return (HERE / name).read_text().replace("@CHART_REPO@", chart_repo)


def palette(name: str) -> Any:
    return json.loads(text(name))
