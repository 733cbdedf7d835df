"""Delivery: a cluster's stack drafts (`stacks`), composed into Git trees (`compose`,
secrets sealed by `secrets`), committed exactly once (`commits`)."""
