"""Resolving charts to another org's registries: map, same URL, search; nearest versions."""

from __future__ import annotations

from lamina.domain import resolution
from lamina.domain.resolution import ChartRef, Offer, Status, Via

SOURCE_URL = "https://charts.source.example/stable"


def ref(name: str = "webapp", version: str = "1.1.0", **extra: object) -> ChartRef:
    fields: dict[str, object] = {
        "path": "spec.layers[0].chart",
        "layer": "web",
        "name": name,
        "version": version,
        "registry": "stable",
        "url": SOURCE_URL,
    }
    return ChartRef(**(fields | extra))  # type: ignore[arg-type]


def offer(registry: str, url: str = "https://elsewhere.example", **charts: list[str]) -> Offer:
    return Offer(registry=registry, url=url, charts=charts)


def test_the_map_comes_first_then_the_same_url_then_search() -> None:
    offers = [
        offer("alpha", webapp=["1.1.0"]),
        offer("mirror", SOURCE_URL + "/", webapp=["1.1.0"]),
        offer("mapped", webapp=["1.1.0"]),
    ]
    [by_map] = resolution.resolve([ref()], offers, {"stable": "mapped"})
    assert (by_map.status, by_map.registry, by_map.via) == (Status.RESOLVED, "mapped", Via.MAP)
    [by_url] = resolution.resolve([ref()], offers, {})
    assert (by_url.registry, by_url.via) == ("mirror", Via.URL)  # trailing slash ignored
    [by_search] = resolution.resolve([ref(url=None)], offers, {})
    assert (by_search.registry, by_search.via) == ("alpha", Via.SEARCH)


def test_a_mapped_registry_without_the_version_falls_through_to_the_next() -> None:
    offers = [offer("mapped", webapp=["1.0.0"]), offer("other", webapp=["1.1.0"])]
    [found] = resolution.resolve([ref()], offers, {"stable": "mapped"})
    assert (found.status, found.registry, found.via) == (Status.RESOLVED, "other", Via.SEARCH)


def test_search_prefers_a_registry_of_the_same_name() -> None:
    offers = [offer("alpha", webapp=["1.1.0"]), offer("stable", webapp=["1.1.0"])]
    [found] = resolution.resolve([ref(url=None)], offers, {})
    assert found.registry == "stable"


def test_a_missing_version_lists_the_nearest_by_semver_distance() -> None:
    offers = [
        offer("a", webapp=["1.0.0", "2.0.0", "1.1.1", "0.9.0"]),
        offer("b", webapp=["1.1.2-rc.1", "1.2.0", "not-a-version"]),
    ]
    [missing] = resolution.resolve([ref()], offers, {})
    assert missing.status is Status.VERSION_MISSING
    assert missing.registry == "a" and missing.version is None
    assert missing.nearest == ("1.1.1", "1.1.2-rc.1", "1.0.0")


def test_an_unknown_chart_is_not_found_with_the_registry_it_would_come_from() -> None:
    offers = [offer("mirror", SOURCE_URL, other=["1.0.0"]), offer("b", other=["1.0.0"])]
    [missing] = resolution.resolve([ref()], offers, {})
    assert (missing.status, missing.registry, missing.via) == (Status.NOT_FOUND, "mirror", Via.URL)
    [nowhere] = resolution.resolve([ref(url=None)], offers, {})
    assert (nowhere.status, nowhere.registry) == (Status.NOT_FOUND, None)


def test_exact_means_exact_but_a_v_prefix_is_the_same_version() -> None:
    offers = [offer("a", webapp=["v1.1.0", "1.1.0+build.2"])]
    [found] = resolution.resolve([ref()], offers, {})
    assert found.version == "v1.1.0"
    [build] = resolution.resolve([ref(version="1.1.0+build.2")], offers, {})
    assert build.version == "1.1.0+build.2"
    [other] = resolution.resolve([ref(version="1.1.0+build.3")], offers, {})
    assert other.status is Status.VERSION_MISSING


def test_an_unpinned_range_takes_the_newest_version_inside_it() -> None:
    offers = [offer("a", webapp=["1.0.0", "1.4.0", "2.0.0"])]
    [found] = resolution.resolve([ref(version="^1.0")], offers, {})
    assert (found.status, found.version) == (Status.RESOLVED, "1.4.0")
    [missing] = resolution.resolve([ref(version="^3.0")], offers, {})
    assert missing.nearest == ("2.0.0", "1.4.0", "1.0.0")  # newest first for a range


def test_rewrite_points_the_chart_at_the_destination() -> None:
    chart = {"repository": "stable", "name": "webapp", "version": "^1.0"}
    offers = [offer("mirror", webapp=["1.1.0"]), offer("b", webapp=["1.0.0"])]
    [pinned] = resolution.resolve([ref()], offers, {})
    assert resolution.rewrite_chart(chart, pinned) == {
        "repository": "mirror",
        "name": "webapp",
        "version": "1.1.0",
    }
    [missing] = resolution.resolve([ref(version="1.2.0")], offers, {})
    rewritten = resolution.rewrite_chart(chart, missing)
    assert (rewritten["repository"], rewritten["version"]) == ("mirror", "1.2.0")
    [unpinned] = resolution.resolve([ref(version="^1.0")], offers, {})
    assert resolution.rewrite_chart(chart, unpinned)["version"] == "^1.0"
    [lost] = resolution.resolve([ref(name="gone", url=None)], offers, {})
    assert resolution.rewrite_chart(chart, lost)["repository"] == "stable"


def test_hosts_are_matched_whole_with_their_port() -> None:
    values = {
        "image": {"repository": "registry.source.example/team/app", "tag": "1"},
        "sidecar": "sub.registry.source.example/app",
        "mirror": "registry.source.example.org/app",
        "url": "https://REGISTRY.source.example:443/x",
        "ports": ["127.0.0.1:5000/a", "127.0.0.1:50001/b"],
        "count": 3,
    }
    hosts = {"registry.source.example", "127.0.0.1:5000"}
    assert resolution.mentions(values, "spec.layers[1].values", hosts) == [
        ("spec.layers[1].values.image.repository", "registry.source.example"),
        ("spec.layers[1].values.ports[0]", "127.0.0.1:5000"),
    ]
    assert resolution.host_of("https://user@Charts.Example:8443/x") == "charts.example:8443"
    assert resolution.host_of("/srv/charts") is None


def test_same_url_key_ignores_case_of_scheme_and_host_and_a_trailing_slash() -> None:
    assert resolution.same_url_key("HTTPS://Charts.Example/Stable/") == (
        "https://charts.example/Stable"
    )
    assert resolution.same_url_key("/srv/charts/") == "/srv/charts"


def test_nearest_across_a_major_takes_the_closest_below_first() -> None:
    offered = ["1.0.0", "1.1.0", "3.0.0", "3.2.0"]
    assert resolution.nearest("2.0.0", offered) == ("1.1.0", "1.0.0", "3.0.0")
