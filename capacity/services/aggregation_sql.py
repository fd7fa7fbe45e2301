"""The SQL of the capacity aggregation (``capacity.services.aggregation.capacity_aggregate``):
one statement per level for every stored period type asked for. Exact semantics in
docs/capacity.md § Aggregation."""

from __future__ import annotations

from collections.abc import Sequence

from capacity.models import StoredPeriodType

# {level}: the key columns, the daily source and its size column, and what the level adds: its
# extra sample columns, their per-segment sums and the period values made of those sums.
_LEVEL_SQL = {
    "database": {
        "table": "database_size_aggregations",
        "source": "database_size_stats",
        "keys": "instance_id, database_name",
        "size": "size_bytes",
        "extra_samples": "s.data_bytes, s.log_bytes",
        "extra_segment": "sum(data_bytes)::bigint AS data_sum, count(data_bytes) AS data_n, "
        "sum(log_bytes)::bigint AS log_sum, count(log_bytes) AS log_n",
        "extra_rollup": "sum(data_sum) AS data_sum, sum(data_n) AS data_n, sum(log_sum) AS log_sum, "
        "sum(log_n) AS log_n",
        # the average of the samples that have them (NULL when none)
        "extra_values": "round(g.data_sum / NULLIF(g.data_n, 0))::bigint AS avg_data_bytes, "
        "round(g.log_sum / NULLIF(g.log_n, 0))::bigint AS avg_log_bytes",
        "extra_columns": "avg_data_bytes, avg_log_bytes",
    },
    "instance": {
        "table": "instance_size_aggregations",
        "source": "instance_size_stats",
        "keys": "instance_id",
        "size": "total_size_bytes",
        "extra_samples": "s.database_count",
        # the databases of the period's last sampled day
        "extra_segment": "max(day) AS last_day, (array_agg(database_count ORDER BY day DESC))[1] AS last_count",
        "extra_rollup": "(array_agg(last_count ORDER BY last_day DESC))[1] AS last_count",
        "extra_values": "g.last_count AS database_count",
        "extra_columns": "database_count",
    },
}
_VALUE_COLUMNS = (
    "period_end, avg_size_bytes, max_size_bytes, min_size_bytes, {extra_columns}, sample_count, size_change_bytes, "
    "size_change_percent, growth_rate_bytes_per_day, is_complete"
)

# Each daily row is aggregated once, into its "segment": the days of a database (or instance) that
# share a week and a month. Weeks, months and quarters are unions of segments, so they are rolled up
# from the segments' sums (count, Σy, min, max, and Σx, Σx², Σxy for the least-squares slope, with
# x = days since read_from: a slope does not depend on where x starts). The sums are exact: a
# segment's sums of at most 7 sizes are bigint (the roll-ups then sum them as 128-bit integers),
# Σxy is numeric; so the slope is exact before its rounding to 4 decimals.
_AGGREGATE_SQL = """
WITH plan AS (
    SELECT * FROM unnest(%(types)s::text[], %(steps)s::interval[], %(firsts)s::date[], %(lasts)s::date[])
        AS t(period_type, step, first_start, last_start)
), samples AS (
    SELECT {keys_s}, s.collected_date AS day, s.collected_date - %(read_from)s::date AS x, s.{size} AS size,
           {extra_samples}, {segment_columns}
    FROM {source} s
    WHERE s.collected_date BETWEEN %(read_from)s AND %(read_to)s{instance_filter_s}
), segments AS (
    SELECT {keys}, {segment_keys}, count(*) AS n, sum(size)::bigint AS sy, max(size) AS hi, min(size) AS lo,
           sum(x)::bigint AS sx, sum(x * x)::bigint AS sxx, sum(x::bigint * size) AS sxy, {extra_segment}
    FROM samples GROUP BY {keys}, {segment_keys}
), grouped AS (
    SELECT {keys}, {period_type_of_set} AS period_type, COALESCE({period_start_columns}) AS period_start,
           sum(n) AS n, sum(sy) AS sy, max(hi) AS hi, min(lo) AS lo, sum(sx) AS sx, sum(sxx) AS sxx,
           sum(sxy) AS sxy, {extra_rollup}
    FROM (SELECT *{quarter_column} FROM segments) seg
    GROUP BY GROUPING SETS ({grouping_sets})
), periods AS (
    SELECT {keys_g}, g.period_type, g.period_start, (g.period_start + t.step)::date - 1 AS period_end,
           (g.period_start - t.step)::date AS previous_start, t.first_start,
           round(g.sy / g.n)::bigint AS avg_size, g.hi AS max_size, g.lo AS min_size, g.n AS sample_count,
           round((g.n * g.sxy - g.sx * g.sy) / NULLIF(g.n * g.sxx - g.sx * g.sx, 0), 4) AS slope,
           {extra_values}
    FROM grouped g JOIN plan t ON t.period_type = g.period_type
    WHERE g.period_start BETWEEN t.first_start AND t.last_start
), stored AS (
    -- the stored rows of the computed periods and of the period before each type's first one
    SELECT a.* FROM {table} a
    WHERE a.period_start BETWEEN %(stored_from)s AND %(stored_to)s AND ({stored_ranges}){instance_filter_a}
), series AS (
    -- the computed periods, preceded by the stored row of the period before each type's first one
    SELECT p.*, true AS is_computed FROM periods p
    UNION ALL
    SELECT {keys_b}, b.period_type, b.period_start, NULL, NULL, NULL, b.avg_size_bytes, NULL, NULL, NULL, NULL,
           {extra_nulls}, false
    FROM stored b JOIN plan t ON t.period_type = b.period_type AND b.period_start = (t.first_start - t.step)::date
), computed AS (
    -- the immediately preceding period only (a gap means no predecessor); an average of 0 has no ratio
    SELECT p.*, NULLIF(CASE WHEN lag(p.period_start) OVER w = p.previous_start THEN lag(p.avg_size) OVER w END, 0)
                AS previous_avg
    FROM series p
    -- byte order for the names: only equal ones matter here, and a locale's collation costs ~3× more to sort
    WINDOW w AS (PARTITION BY {keys_p}, p.period_type COLLATE "C" ORDER BY p.period_start)
), results AS (
    SELECT {keys_c}, c.period_type, c.period_start, c.period_end, c.avg_size AS avg_size_bytes,
           c.max_size AS max_size_bytes, c.min_size AS min_size_bytes, {extra_columns_c}, c.sample_count,
           c.avg_size - c.previous_avg AS size_change_bytes,
           round((c.avg_size - c.previous_avg) * 100.0 / c.previous_avg, 4) AS size_change_percent,
           c.slope AS growth_rate_bytes_per_day, c.period_end < %(today)s AS is_complete
    FROM computed c WHERE c.is_computed
), existing AS (
    SELECT e.* FROM stored e JOIN plan t ON t.period_type = e.period_type AND e.period_start >= t.first_start
), diff AS (
    -- computed vs stored, row by row: new, changed, gone (its samples were deleted), or the same (left alone)
    SELECT r.*, COALESCE(r.period_type, e.period_type) AS kind, e.id AS stored_id, e.period_start AS stored_start,
           CASE WHEN r.period_start IS NULL THEN 'removed' WHEN e.id IS NULL THEN 'created'
                WHEN ({value_columns_e}) IS DISTINCT FROM ({value_columns_r}) THEN 'updated' END AS change
    FROM results r
    FULL JOIN existing e ON {key_match_re} AND e.period_type = r.period_type AND e.period_start = r.period_start
), upserted AS (
    INSERT INTO {table} AS a ({keys}, period_type, period_start, {value_columns}, calculated_at)
    SELECT {keys}, period_type, period_start, {value_columns}, %(now)s FROM diff
    WHERE change IN ('created', 'updated')
    ON CONFLICT ({keys}, period_type, period_start) DO UPDATE
    SET ({value_columns}, calculated_at) = ({value_columns_excluded}, EXCLUDED.calculated_at)
    WHERE ({value_columns_a}) IS DISTINCT FROM ({value_columns_excluded})
    RETURNING a.period_type
), removed AS (
    DELETE FROM {table} a USING diff d
    WHERE d.change = 'removed' AND a.id = d.stored_id AND a.period_start = d.stored_start
      AND a.period_start BETWEEN %(stored_from)s AND %(stored_to)s
    RETURNING a.period_type
), counted AS (
    SELECT kind AS period_type, count(*) FILTER (WHERE change IS DISTINCT FROM 'removed') AS computed,
           count(*) FILTER (WHERE change = 'created') AS created
    FROM diff GROUP BY kind
)
SELECT t.period_type, COALESCE(c.computed, 0), COALESCE(c.created, 0),
       (SELECT count(*) FROM upserted u WHERE u.period_type = t.period_type),
       (SELECT count(*) FROM removed x WHERE x.period_type = t.period_type)
FROM plan t LEFT JOIN counted c ON c.period_type = t.period_type
"""

#: the segment column of a period type: its period's start, or (quarters) what the quarter is made of.
#: Only the days of the weeks the run writes get a week: the others (a running quarter's earlier
#: weeks, read for the quarter alone) stay one segment per month instead of one per week.
_WEEK = (
    "CASE WHEN s.collected_date BETWEEN %(week_from)s AND %(week_to)s "
    "THEN date_trunc('week', s.collected_date::timestamp)::date END AS week_start"
)
_MONTH = "date_trunc('month', s.collected_date::timestamp)::date AS month_start"


def aggregation_statement(level: str, *, period_types: Sequence[str], filtered: bool) -> str:
    """The statement of one level for ``period_types`` (stored types, canonical order); with
    ``filtered`` it is limited to ``%(instance_ids)s``. Parameters: see ``capacity_aggregate``
    (``stored_from_<type>``/``stored_to_<type>``: the stored rows a type reads;
    ``week_from``/``week_to``: the days of the weeks written, when weekly is asked for)."""
    parts = _LEVEL_SQL[level]
    keys = parts["keys"].split(", ")
    values = _VALUE_COLUMNS.format(extra_columns=parts["extra_columns"]).split(", ")
    weekly = StoredPeriodType.WEEKLY in period_types
    by_month = bool({StoredPeriodType.MONTHLY, StoredPeriodType.QUARTERLY} & set(period_types))
    segment_columns = [column for wanted, column in ((weekly, _WEEK), (by_month, _MONTH)) if wanted]
    start_of = {
        StoredPeriodType.WEEKLY: "week_start",
        StoredPeriodType.MONTHLY: "month_start",
        StoredPeriodType.QUARTERLY: "quarter_start",
    }
    starts = {t: start_of[t] for t in period_types}
    return _AGGREGATE_SQL.format(
        **parts,
        keys_s=", ".join(f"s.{k}" for k in keys),
        keys_g=", ".join(f"g.{k}" for k in keys),
        keys_p=", ".join(f'p.{k} COLLATE "C"' if k == "database_name" else f"p.{k}" for k in keys),
        keys_c=", ".join(f"c.{k}" for k in keys),
        extra_columns_c=", ".join(f"c.{c}" for c in parts["extra_columns"].split(", ")),
        key_match_re=" AND ".join(f"r.{k} = e.{k}" for k in keys),
        keys_b=", ".join(f"b.{k}" for k in keys),
        extra_nulls=", ".join("NULL" for _ in parts["extra_columns"].split(", ")),
        value_columns=", ".join(values),
        value_columns_a=", ".join(f"a.{c}" for c in values),
        value_columns_e=", ".join(f"e.{c}" for c in values),
        value_columns_r=", ".join(f"r.{c}" for c in values),
        value_columns_excluded=", ".join(f"EXCLUDED.{c}" for c in values),
        segment_columns=", ".join(segment_columns),
        segment_keys=", ".join(c.rsplit(" AS ", 1)[1] for c in segment_columns),
        quarter_column=", date_trunc('quarter', month_start::timestamp)::date AS quarter_start"
        if StoredPeriodType.QUARTERLY in period_types
        else "",
        period_start_columns=", ".join(starts.values()),
        period_type_of_set="CASE "
        + " ".join(f"WHEN GROUPING({column}) = 0 THEN '{t}'" for t, column in starts.items())
        + " END",
        grouping_sets=", ".join(f"({parts['keys']}, {column})" for column in starts.values()),
        instance_filter_s=" AND s.instance_id = ANY(%(instance_ids)s)" if filtered else "",
        # per type, as constants: the planner reads (and prunes to) only those periods' partitions
        stored_ranges=" OR ".join(
            f"(a.period_type = '{t}' AND a.period_start BETWEEN %(stored_from_{t})s AND %(stored_to_{t})s)"
            for t in period_types
        ),
        instance_filter_a=" AND a.instance_id = ANY(%(instance_ids)s)" if filtered else "",
    )
