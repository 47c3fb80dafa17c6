"""The read side: a run's results turned into rows, verdicts, sentences and figures.

Nothing here starts a process or imports the run side (an import-linter contract checks it):
everything a conclusion needs is read from the run folder. By topic:

- `runs`: loading a run (older formats through `legacy`) and its rows;
- `bootstrap`, `latency_files`, `verdicts`: the one verdict rule of the paired design, its
  statistics, and the headline;
- `under_load`: the summary per server and the under-load sentences;
- `auth_step`, `distance`, `revocation`, `algorithms`, `availability`, `stores`: the experiments;
- `capacity`: the bill at scale, a capacity model from measured CPU per request, and its check;
- `tables`: rows as text or HTML, and the summary printed after a run;
- `plots`, `report`, `notebook`: figures, the HTML report, what the notebooks import.

Every public name is importable from here: `from bench import analysis; analysis.headline(run)`.
"""

from __future__ import annotations

from bench.analysis import capacity, verdicts
from bench.analysis.algorithms import (
    algorithm_rows,
    algorithm_sentence,
    algorithms,
)
from bench.analysis.auth_step import (
    micro_sentence,
    pem_sentence,
    prepared_key_sentence,
    token_size_sentence,
)
from bench.analysis.availability import (
    PROBE_INTERVAL_S,
    availability_rows,
    availability_sentence,
    failure_mode_sentence,
)
from bench.analysis.bootstrap import (
    BOOTSTRAP_SAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    Estimate,
    bootstrap_pair,
    pooled_quantile,
    ratio_interval,
)
from bench.analysis.capacity import (
    LOOKUP_FLOOR_US,
    PG_NODE_CORES,
    RATES,
    SCHEMES,
    bill_sentence,
    capacity_rows,
    cost_rows,
    model_check_rows,
    model_check_sentence,
    revocation_window_rows,
    saturation_rows,
)
from bench.analysis.distance import (
    DISTANCE_GROUPS,
    distance_rows,
    distance_sentence,
)
from bench.analysis.revocation import (
    revocation_rows,
    revocation_sentence,
    variant_pairs,
    variant_rows,
    variant_sentence,
)
from bench.analysis.runs import (
    CPU_GROUPS,
    STORE_NAMES,
    Run,
    at_rate,
    busiest_closed,
    can_revoke,
    cell_rows,
    find_server,
    load,
    median,
    micro_figure,
    plain,
    points,
    saturated_fraction,
    server_spec,
    spread,
    store_of,
)
from bench.analysis.stores import (
    profile_rows,
    profile_sentence,
    store_micro_rows,
    store_micro_sentence,
    store_rows,
    store_sentence,
)
from bench.analysis.tables import (
    SUMMARY_HEADERS,
    Table,
    compare_rows,
    summary_table,
    summary_text,
)
from bench.analysis.under_load import (
    auth_share_sentence,
    auth_time_rows,
    auth_time_sentence,
    averages_rows,
    averages_sentence,
    fixed_rate_rows,
    load_generator_sentence,
    omission_rows,
    omission_sentence,
    saturation_sentence,
    summary_rows,
    tail_sentence,
)
from bench.analysis.verdicts import (
    MIN_REPEATS,
    MIN_REQUESTS_PER_ARM,
    VERDICTS,
    PairVerdict,
    a_a_warning,
    closed_cpu_ratio,
    cpu_ratio_sentence,
    decide,
    headline,
    pair_rows,
    paired_verdicts,
    signed,
    verdict_line,
    verdict_rows,
    verdict_sentence,
    verdict_words,
    where,
)

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "CPU_GROUPS",
    "DISTANCE_GROUPS",
    "LOOKUP_FLOOR_US",
    "MIN_REPEATS",
    "MIN_REQUESTS_PER_ARM",
    "PG_NODE_CORES",
    "PROBE_INTERVAL_S",
    "RATES",
    "SCHEMES",
    "STORE_NAMES",
    "SUMMARY_HEADERS",
    "VERDICTS",
    "Estimate",
    "PairVerdict",
    "Run",
    "Table",
    "a_a_warning",
    "algorithm_rows",
    "algorithm_sentence",
    "algorithms",
    "at_rate",
    "auth_share_sentence",
    "auth_time_rows",
    "auth_time_sentence",
    "availability_rows",
    "availability_sentence",
    "averages_rows",
    "averages_sentence",
    "bill_sentence",
    "bootstrap_pair",
    "busiest_closed",
    "can_revoke",
    "capacity",
    "capacity_rows",
    "cell_rows",
    "closed_cpu_ratio",
    "compare_rows",
    "cost_rows",
    "cpu_ratio_sentence",
    "decide",
    "distance_rows",
    "distance_sentence",
    "failure_mode_sentence",
    "find_server",
    "fixed_rate_rows",
    "headline",
    "load",
    "load_generator_sentence",
    "median",
    "micro_figure",
    "micro_sentence",
    "model_check_rows",
    "model_check_sentence",
    "omission_rows",
    "omission_sentence",
    "pair_rows",
    "paired_verdicts",
    "pem_sentence",
    "plain",
    "points",
    "pooled_quantile",
    "prepared_key_sentence",
    "profile_rows",
    "profile_sentence",
    "ratio_interval",
    "revocation_rows",
    "revocation_sentence",
    "revocation_window_rows",
    "saturated_fraction",
    "saturation_rows",
    "saturation_sentence",
    "server_spec",
    "signed",
    "spread",
    "store_micro_rows",
    "store_micro_sentence",
    "store_of",
    "store_rows",
    "store_sentence",
    "summary_rows",
    "summary_table",
    "summary_text",
    "tail_sentence",
    "token_size_sentence",
    "variant_pairs",
    "variant_rows",
    "variant_sentence",
    "verdict_line",
    "verdict_rows",
    "verdict_sentence",
    "verdict_words",
    "verdicts",
    "where",
]
