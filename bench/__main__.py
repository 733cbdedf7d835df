"""Run every benchmark: `python -m bench [name ...]`."""

from __future__ import annotations

import sys

from bench import (
    api_workers,
    cli,
    dryrun,
    fleet,
    parallel,
    profiles,
    render,
    rollout,
    search,
    storage,
    web,
)

BENCHMARKS = {
    "profiles": profiles.main,
    "search": search.main,
    "render": render.main,
    "parallel": parallel.main,
    "fleet": fleet.main,
    "rollout": rollout.main,
    "dryrun": dryrun.main,
    "storage": storage.main,
    "cli": cli.main,
    "api_workers": api_workers.main,
    "web": web.main,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    for name in chosen:
        print(f"== {name}")
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
