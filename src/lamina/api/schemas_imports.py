"""HTTP schemas of imports from other systems."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from lamina.api.inputs import Strict
from lamina.api.schemas import DraftResponse
from lamina.services.imports import ImportResult


class ImportFromUrl(Strict):
    """Fetch the source document from `url` (http or https, checked by the server's target
    policy) instead of sending it as the body."""

    url: Annotated[str, Field(min_length=1, max_length=2048)]


class ImportNote(BaseModel):
    path: str = Field(description="Where in the source document (not in the draft)")
    status: str = Field(description="mapped, approximated or unmapped")
    code: str
    message: str


class ImportResponse(BaseModel):
    draft: DraftResponse
    report: list[ImportNote]

    @classmethod
    def of(cls, result: ImportResult) -> ImportResponse:
        return cls(
            draft=DraftResponse.of(result.draft),
            report=[ImportNote(**note.as_dict()) for note in result.report],
        )
