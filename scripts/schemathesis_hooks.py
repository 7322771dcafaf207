"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

Only what JSON Schema cannot state is here; everything else is in the served OpenAPI document.
"""
import schemathesis


@schemathesis.hook("filter_case").apply_to(method="POST", path="/v1/experiments")
def distinct_configuration_names(context, case):
    # An experiment's configurations must have distinct `name`s (its results are reported by
    # name). JSON Schema can require distinct items, not distinct values of one property, so a
    # positive case that repeats a name is not a valid request; negative cases are kept. The 400
    # for a repeated name is covered by the governance e2e suite.
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return True
    configurations = case.body.get("configurations")
    if not isinstance(configurations, list):
        return True
    names = [c.get("name", "").strip() for c in configurations if isinstance(c, dict) and isinstance(c.get("name"), str)]
    return len(names) == len(set(names))
