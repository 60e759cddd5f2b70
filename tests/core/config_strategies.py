"""Hypothesis strategies for valid pipeline configs, as a YAML file would hold them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
columns = st.sampled_from(["id", "age", "income", "email", "status", "updated_at", "first name"])
lake_paths = st.lists(names, min_size=1, max_size=3).map("/".join)
load_paths = lake_paths.filter(lambda p: p.split("/")[0] not in ("raw", "_lakeflow"))
fractions = st.floats(0, 1, allow_nan=False)
small_ints = st.integers(-1000, 1000)


@st.composite
def sources(draw: st.DrawFn) -> dict[str, Any]:
    """One source block of any kind (no password written in the file)."""
    incremental = draw(
        st.none()
        | st.fixed_dictionaries(
            {"column": columns}, optional={"key": st.lists(columns, max_size=2, unique=True)}
        )
    )
    kind = draw(st.sampled_from(["sql", "parquet", "csv", "ndjson", "lake"]))
    body: dict[str, Any]
    if kind == "sql":
        body = {"uri": draw(st.sampled_from(["sqlite:///data/users.db", "sqlite://users.db"]))}
        if draw(st.booleans()):
            body["table"] = draw(st.sampled_from(["users", "sales.orders"]))
        else:
            body["query"] = "select * from users"
        if draw(st.booleans()):
            body |= {"partition_on": "id", "partitions": draw(st.integers(1, 1024))}
    elif kind == "lake":
        body = {"path": draw(lake_paths)}
    else:
        body = {"path": draw(st.sampled_from(["data/*.parquet", "in.csv", "s3://b/x/*.json"]))}
        if kind == "csv":
            body |= draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "separator": st.sampled_from([",", ";", "\t", "|"]),
                        "has_header": st.booleans(),
                        "try_parse_dates": st.booleans(),
                    },
                )
            )
    if incremental is not None:
        body["incremental"] = incremental
    return {kind: body}


clean_steps = st.fixed_dictionaries(
    {},
    optional={
        "remove_duplicates": st.booleans()
        | st.fixed_dictionaries(
            {"keys": st.lists(columns, max_size=2, unique=True)},
            optional={"keep": st.sampled_from(["first", "last"])},
        )
        | st.fixed_dictionaries(
            {"keep": st.just("latest"), "order_by": columns},
            optional={"keys": st.lists(columns, max_size=2, unique=True)},
        ),
        "null_handling": st.dictionaries(
            columns,
            st.sampled_from(["drop", "fill_zero", "fill_mean", "fill_median", "fill_forward"])
            | small_ints
            | st.sampled_from(["n/a", "unknown"])
            | st.just({"value": "drop"}),
            max_size=3,
        ),
        "type_conversions": st.dictionaries(
            columns,
            st.sampled_from(["int", "float", "str", "bool", "numeric"])
            | st.fixed_dictionaries(
                {"to": st.just("datetime")},
                optional={"format": st.just("%Y-%m-%d"), "on_error": st.sampled_from(["fail"])},
            ),
            max_size=3,
        ),
        "string_cleaning": st.dictionaries(
            columns,
            st.lists(st.sampled_from(["strip", "lower", "upper", "title"]), min_size=1, max_size=3),
            max_size=2,
        ),
    },
).filter(lambda step: step.get("remove_duplicates") or any(step.get(k) for k in step))

expressions = st.sampled_from(["age + 1", "floor(income / 10000) * 10000", "upper(email)"])
conditions = st.sampled_from(["age >= 18", "income > 0", "status = 'active'"])
range_bins = st.fixed_dictionaries(
    {"min": st.integers(0, 10)}, optional={"max": st.integers(10, 20)}
) | st.fixed_dictionaries({"max": st.integers(0, 20)})
steps = st.one_of(
    clean_steps.map(lambda body: {"clean": body}),
    st.dictionaries(names, expressions, min_size=1, max_size=3).map(lambda b: {"derive": b}),
    st.lists(conditions, min_size=1, max_size=3).map(lambda b: {"filters": b}),
    st.dictionaries(
        columns,
        st.dictionaries(st.sampled_from(["Low", "High", "Mid"]), range_bins, min_size=1)
        | st.fixed_dictionaries(
            {
                "bins": st.dictionaries(
                    st.sampled_from(["EU", "NA"]), st.lists(names, min_size=1), min_size=1
                )
            },
            optional={"into": names, "default": st.sampled_from(["Other", "?"])},
        ),
        min_size=1,
        max_size=2,
    ).map(lambda b: {"categorize": b}),
    st.fixed_dictionaries(
        {
            "group_by": st.lists(st.sampled_from(["country", "status"]), max_size=2, unique=True),
            "aggregations": st.dictionaries(
                st.sampled_from(["income", "age"]),
                st.lists(st.sampled_from(["mean", "count", "max"]), min_size=1, unique=True),
                min_size=1,
            ),
        }
    ).map(lambda b: {"aggregate": b}),
    st.fixed_dictionaries(
        {"columns": st.dictionaries(columns, st.sampled_from(["mask", "drop"]), min_size=1)},
        optional={"keep_last": st.integers(0, 8)},
    ).map(lambda b: {"protect": b}),
)


@st.composite
def transforms(draw: st.DrawFn) -> object:
    """A transform block: a list of one-step mappings, or a mapping (each kind once)."""
    chosen = draw(st.lists(steps, max_size=4))
    if draw(st.booleans()):
        return chosen
    as_mapping: dict[str, Any] = {}
    for step in chosen:
        as_mapping.setdefault(*next(iter(step.items())))
    return as_mapping


validates = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.fixed_dictionaries(
            {"required": st.lists(columns, min_size=1, max_size=2, unique=True)},
            optional={
                "properties": st.dictionaries(
                    columns,
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "type": st.sampled_from(["integer", "number"]),
                            "minimum": st.integers(0, 5),
                            "maximum": st.integers(5, 10),
                            "enum": st.lists(small_ints, min_size=1, max_size=3),
                        },
                    ),
                    max_size=2,
                ),
                "coerce": st.booleans(),
            },
        ),
        "completeness": st.fixed_dictionaries(
            {"columns": st.lists(columns, min_size=1, max_size=2)},
            optional={"threshold": fractions},
        ),
        "unique": st.lists(columns | st.lists(columns, min_size=2, max_size=3), max_size=3),
        "references": st.dictionaries(
            columns,
            st.fixed_dictionaries({"values": st.lists(names, min_size=1, max_size=3)})
            | st.fixed_dictionaries({"dataset": lake_paths, "key": columns}),
            max_size=2,
        ),
        "rules": st.lists(
            st.fixed_dictionaries(
                {"condition": conditions},
                optional={
                    "severity": st.sampled_from(["error", "warning", "info"]),
                    "nulls": st.sampled_from(["pass", "fail"]),
                },
            ),
            max_size=3,
        ).map(lambda rules: [{"name": f"rule_{i}", **r} for i, r in enumerate(rules)]),
        "max_invalid_fraction": fractions,
        "enforce": st.booleans(),
        "quality": st.fixed_dictionaries(
            {"timestamp_column": columns},
            optional={"freshness_hours": st.floats(0.5, 1000, allow_nan=False)},
        ),
    },
)


@st.composite
def pipeline_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid config document (plain YAML values, no secret written in it)."""
    config: dict[str, Any] = {
        "pipeline": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)),
        "lake": {
            "url": draw(st.sampled_from(["local://./lake", "local:///srv/lake", "local://lk"])),
            "repository": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{2,20}", fullmatch=True)),
        },
        "source": draw(sources()),
    }
    if draw(st.booleans()):
        config["transform"] = draw(transforms())
    if draw(st.booleans()):
        config["validate"] = draw(validates)
    load: dict[str, Any] = {"path": draw(load_paths)}
    load |= draw(
        st.fixed_dictionaries(
            {}, optional={"mode": st.sampled_from(["append", "overwrite"]), "raw": st.booleans()}
        )
    )
    if draw(st.booleans()):
        load["database"] = draw(
            st.fixed_dictionaries(
                {"uri": st.just("sqlite:///w.db"), "table": st.just("out")},
                optional={"mode": st.sampled_from(["append", "replace"])},
            )
            | st.fixed_dictionaries(
                {
                    "uri": st.just("sqlite:///w.db"),
                    "table": st.just("out"),
                    "mode": st.just("upsert"),
                    "keys": st.lists(columns, min_size=1, max_size=2, unique=True),
                }
            )
        )
    config["load"] = load
    if draw(st.booleans()):
        config["run"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "max_retries": st.integers(0, 10),
                    "timeout_seconds": st.floats(0.1, 1e4, allow_nan=False),
                    "retry_on_conflict": st.integers(0, 3),
                    "batch_size": st.integers(1, 10**7),
                },
            )
        )
    if draw(st.booleans()):
        config["monitoring"] = {"sla": {"max_duration_s": draw(st.integers(1, 10**5))}}
    return config
