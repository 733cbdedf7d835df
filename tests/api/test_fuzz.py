"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis),
through real HTTP on a loopback port, on SQLite and PostgreSQL.

Every answer must be a non-5xx with a documented status, content type and body shape.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.api.test_clusters import register
from tests.api.test_journey import DRAFTS, import_doc
from tests.conftest import TokenFactory
from tests.documents import web_platform
from tests.fixtures.gitrepos import BareRepo

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
# Examples per operation (about 20 s per backend on two cores); LAMINA_FUZZ_EXAMPLES overrides.
EXAMPLES = int(os.environ.get("LAMINA_FUZZ_EXAMPLES", "25"))


def test_api_answers_every_input_as_documented(
    server_url: str, make_token: TokenFactory, bare_repo: BareRepo
) -> None:
    token = make_token("acme", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=30) as http:
        # One of each object, so that small ids exist and the fuzzer reaches the services.
        assert import_doc(http, web_platform()).status_code == 201
        assert http.post(DRAFTS, json={"name": "fuzzed"}).status_code == 201
        register(http, "fuzzed", bare_repo)
    schema = schemathesis.openapi.from_url(f"{server_url}/api/v1/openapi.json")
    # These reach the outside world: a registry sync fetches from the registry's URL, and a
    # commit, a rollout or an instantiation with `deploy` pushes to the cluster's Git URL,
    # both of which the fuzzer can set to any host.
    schema.exclude(path_regex=r"/registries/\{registry_id\}/sync$")
    schema.exclude(path_regex=r"/stack-drafts/\{draft_id\}/commit$")
    schema.exclude(path_regex=r"/rollout$")
    schema.exclude(path_regex=r"/stacks/from-profile$")
    failures: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            try:
                _fuzz(operation, session, headers)
            except (Exception, BaseExceptionGroup) as error:  # fuzz on, report them all
                failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)


def _fuzz(operation: Any, session: requests.Session, headers: dict[str, str]) -> None:
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(session=session, headers=headers, checks=CHECKS, timeout=30)

    run()
