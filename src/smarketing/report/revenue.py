"""Write ``revenue_report.html``: the numbers heads of sales and marketing look at, as charts.

Read from the *published* DuckDB file (read-only), so the report shows exactly what BI tools
show. Charts are Vega-Altair specs rendered as SVG by vega-embed; the vega-embed bundle
(from ``vl-convert-python``, a PyPI package) is inlined once, so the page opens offline and
never fetches anything. A mart the report needs but the published file lacks (e.g. the
targets, in a file published before them) leaves a note in the page instead of failing the
run.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd

FUNNEL_STAGES = [
    ("visitors", "Visitor"),
    ("leads", "Lead"),
    ("mqls", "MQL"),
    ("sqls", "SQL"),
    ("opportunities", "Opportunity"),
    ("won_deals", "Won"),
]
REPORT_NAME = "revenue_report.html"


@dataclass
class Section:
    title: str
    note: str = ""
    charts: list[dict] = field(default_factory=list)  # Vega-Lite specs
    table: pd.DataFrame | None = None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
    }


def _money(value: float | None, currency: str) -> str:
    return "–" if value is None or pd.isna(value) else f"{currency} {value:,.0f}"


def funnel_section(con: duckdb.DuckDBPyConnection) -> Section:
    sums = ", ".join(f"sum({col})::bigint as {col}" for col, _ in FUNNEL_STAGES)
    row = con.execute(f"select {sums} from mart_funnel_conversion").fetchone()
    frame = pd.DataFrame(
        {
            "order": range(len(FUNNEL_STAGES)),
            "stage": [label for _, label in FUNNEL_STAGES],
            "people": [int(v or 0) for v in row],
        }
    )
    previous = frame["people"].shift(1)
    frame["conversion"] = (frame["people"] / previous).where(previous > 0)
    frame["label"] = [
        f"{p:,}" + ("" if pd.isna(c) else f"  ({c:.0%} of previous)")
        for p, c in zip(frame["people"], frame["conversion"], strict=True)
    ]
    base = alt.Chart(frame).encode(
        y=alt.Y("stage:N", sort=alt.SortField("order"), title=None),
        x=alt.X("people:Q", title="people (all cohorts)"),
    )
    chart = (
        base.mark_bar(color="#4c78a8") + base.mark_text(align="left", dx=4).encode(text="label:N")
    ).properties(width=560, height=220, title="Funnel: visitor → won, with stage conversion")
    return Section(
        "Funnel",
        "People who entered the funnel, by the furthest stage reached; conversion is each "
        "stage over the one before.",
        [chart.to_dict()],
        frame[["stage", "people", "conversion"]],
    )


def channel_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per channel: spend, pipeline, bookings, CAC and ROAS by lead source and attributed."""
    frame = con.execute(
        "select channel, sum(spend)::double as spend, sum(pipeline_amount)::double as pipeline,"
        " sum(won_revenue)::double as bookings, sum(won_deals)::bigint as won_deals,"
        " sum(revenue_linear)::double as attributed_revenue"
        " from mart_channel_performance group by channel order by bookings desc, channel"
    ).df()
    if "fct_attribution" in _tables(con):
        customers = con.execute(
            "select channel, sum(credit_weight)::double as attributed_customers"
            " from fct_attribution where attribution_model = 'linear' and deal_status = 'won'"
            " group by channel"
        ).df()
        frame = frame.merge(customers, on="channel", how="left")
    else:
        frame["attributed_customers"] = float("nan")
    paid = frame["spend"] > 0
    frame["cac_lead_source"] = (frame["spend"] / frame["won_deals"]).where(
        paid & (frame["won_deals"] > 0)
    )
    frame["cac_attributed"] = (frame["spend"] / frame["attributed_customers"]).where(
        paid & (frame["attributed_customers"] > 0)
    )
    frame["roas_lead_source"] = (frame["bookings"] / frame["spend"]).where(paid)
    frame["roas_attributed"] = (frame["attributed_revenue"] / frame["spend"]).where(paid)
    return frame


def channel_sections(con: duckdb.DuckDBPyConnection, currency: str) -> list[Section]:
    frame = channel_frame(con)
    long = frame.melt(
        id_vars="channel", value_vars=["spend", "pipeline", "bookings"], var_name="measure"
    )
    money = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("channel:N", title=None, sort=list(frame["channel"])),
            xOffset=alt.XOffset("measure:N", sort=["spend", "pipeline", "bookings"]),
            y=alt.Y("value:Q", title=currency),
            color=alt.Color("measure:N", sort=["spend", "pipeline", "bookings"]),
            tooltip=["channel", "measure", alt.Tooltip("value:Q", format=",.0f")],
        )
        .properties(width=620, height=260, title="Spend → pipeline → bookings per channel")
    )
    paid = frame[frame["spend"] > 0]

    def _pair(prefix: str, title: str, fmt: str) -> dict:
        data = paid.melt(
            id_vars="channel",
            value_vars=[f"{prefix}_lead_source", f"{prefix}_attributed"],
            var_name="basis",
        ).dropna()
        data["basis"] = data["basis"].str.replace(f"{prefix}_", "").str.replace("_", " ")
        return (
            alt.Chart(data)
            .mark_bar()
            .encode(
                x=alt.X("channel:N", title=None),
                xOffset="basis:N",
                y=alt.Y("value:Q", title=title),
                color=alt.Color("basis:N", title="basis"),
                tooltip=["channel", "basis", alt.Tooltip("value:Q", format=fmt)],
            )
            .properties(width=300, height=220, title=f"{title} per paid channel")
            .to_dict()
        )

    table = frame[
        [
            "channel",
            "spend",
            "pipeline",
            "bookings",
            "won_deals",
            "cac_lead_source",
            "cac_attributed",
            "roas_lead_source",
            "roas_attributed",
        ]
    ]
    return [
        Section(
            "Spend, pipeline and bookings per channel",
            f"Amounts in {currency}. Pipeline and bookings by the lead's source (first touch).",
            [money.to_dict()],
        ),
        Section(
            "CAC and ROAS per channel",
            "By lead source: the lead's first-touch channel gets the whole deal. Attributed: "
            "the linear multi-touch model splits each won deal over its touches (CAC counts "
            "fractional customers). Channels without spend have neither.",
            [_pair("cac", f"CAC ({currency})", ",.0f"), _pair("roas", "ROAS", ".2f")],
            table,
        ),
    ]


def sla_section(con: duckdb.DuckDBPyConnection) -> Section:
    frame = con.execute(
        "select dimension_value as lead_source, mqls, mqls_never_worked,"
        " median_hours_to_first_touch::double as median_hours, sla_hours::double as sla_hours,"
        " share_worked_within_sla from mart_sales_marketing_sla"
        " where dimension = 'lead_source' order by mqls desc, lead_source"
    ).df()
    sla = float(frame["sla_hours"].max()) if len(frame) else 24.0
    speed = (
        alt.Chart(frame)
        .mark_bar(color="#f58518")
        .encode(
            x=alt.X("lead_source:N", title=None, sort=list(frame["lead_source"])),
            y=alt.Y("median_hours:Q", title="median hours MQL → first sales touch"),
            tooltip=["lead_source", "median_hours", "share_worked_within_sla"],
        )
    )
    rule = alt.Chart(pd.DataFrame({"sla": [sla]})).mark_rule(color="red").encode(y="sla:Q")
    never = (
        alt.Chart(frame)
        .mark_bar(color="#e45756")
        .encode(
            x=alt.X("lead_source:N", title=None, sort=list(frame["lead_source"])),
            y=alt.Y("mqls_never_worked:Q", title="MQLs never worked"),
            tooltip=["lead_source", "mqls", "mqls_never_worked"],
        )
        .properties(width=300, height=220, title="MQLs never worked by source")
    )
    return Section(
        "Speed to lead",
        f"Red line: the SLA ({sla:g} h).",
        [
            (speed + rule)
            .properties(width=300, height=220, title="Speed to lead by source")
            .to_dict(),
            never.to_dict(),
        ],
        frame.drop(columns=["sla_hours"]),
    )


def pacing_section(con: duckdb.DuckDBPyConnection) -> Section:
    """The running month's commitments from mart_targets_pacing (see report.on_track)."""
    from smarketing.report.on_track import (
        LABELS,
        PACING_TABLE,
        PLAN_METRICS,
        current_period,
        pacing_lines,
    )

    title = "This month's pacing"
    if PACING_TABLE not in _tables(con):
        return Section(
            title,
            "No targets are published yet (no targets mart): pacing appears here once they are.",
        )
    month = current_period(con, "month")
    if month is None:
        return Section(title, "The plan's first month has not begun yet.")
    frame = con.execute(
        "select metric, team, target::double as target, actual::double as actual, pacing,"
        f" forecast::double as forecast, status from {PACING_TABLE}"
        " where period_type = 'month' and period_start = ? and channel = '(all)'"
        " and metric in (" + ", ".join(f"'{m}'" for m in PLAN_METRICS) + ")",
        [month["period_start"]],
    ).df()
    frame["order"] = frame["metric"].map({m: i for i, m in enumerate(PLAN_METRICS)})
    frame = frame.sort_values("order").drop(columns="order")
    frame["commitment"] = frame["metric"].map(LABELS)
    chart = (
        alt.Chart(frame.dropna(subset=["pacing"]))
        .mark_bar()
        .encode(
            y=alt.Y("commitment:N", sort=list(frame["commitment"]), title=None),
            x=alt.X(
                "pacing:Q", title="pacing (actual / pro-rated target)", axis=alt.Axis(format="%")
            ),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(
                    domain=["on_track", "at_risk", "off_track"],
                    range=["#54a24b", "#f58518", "#e45756"],
                ),
            ),
            tooltip=["commitment", "team", "status", alt.Tooltip("pacing:Q", format=".0%")],
        )
        .properties(width=420, height=160, title="Pacing of the plan's commitments")
    )
    rule = alt.Chart(pd.DataFrame({"plan": [1.0]})).mark_rule(color="#333").encode(x="plan:Q")
    headline = pacing_lines(con, "")[0].removeprefix("Are we on track? ")
    columns = ["commitment", "team", "target", "actual", "pacing", "forecast", "status"]
    return Section(
        title,
        f"Are we on track? {headline} From {PACING_TABLE}.",
        [(chart + rule).to_dict()],
        frame[columns],
    )


def _publish_info(con: duckdb.DuckDBPyConnection) -> dict:
    if "_publish_info" not in _tables(con):
        return {}
    cur = con.execute("select * from _publish_info")
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else {}


def build_sections(published_path: Path, currency: str) -> tuple[dict, list[Section]]:
    con = duckdb.connect(str(published_path), read_only=True)
    try:
        info = _publish_info(con)
        present = _tables(con)
        sections: list[Section] = []
        builders = [
            ("mart_funnel_conversion", lambda: [funnel_section(con)]),
            ("mart_channel_performance", lambda: channel_sections(con, currency)),
            ("mart_sales_marketing_sla", lambda: [sla_section(con)]),
        ]
        for needed, build in builders:
            if needed in present:
                sections += build()
            else:
                sections.append(Section(needed, f"{needed} is not published: section skipped."))
        sections.append(pacing_section(con))
        return info, sections
    finally:
        con.close()


def _vega_embed_bundle() -> str:
    from altair.utils.html import import_vl_convert, vl_version_for_vl_convert

    return import_vl_convert().javascript_bundle(vl_version=vl_version_for_vl_convert())


def _table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, na_rep="–", float_format=lambda v: f"{v:,.2f}", border=0)


def render_html(info: dict, sections: list[Section], currency: str, run_id: str) -> str:
    specs: list[dict] = []
    body: list[str] = []
    for section in sections:
        body.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.note:
            body.append(f'<p class="note">{html.escape(section.note)}</p>')
        body.append('<div class="charts">')
        for spec in section.charts:
            body.append(f'<div class="chart" id="chart{len(specs)}"></div>')
            specs.append(spec)
        body.append("</div>")
        if section.table is not None:
            body.append(_table_html(section.table))
        body.append("</section>")
    facts = (
        f"Run {html.escape(str(info.get('run_id', run_id)))} · data interval "
        f"{html.escape(str(info.get('data_interval', '?')))} · published "
        f"{html.escape(str(info.get('published_at', '?')))} UTC · amounts in "
        f"{html.escape(currency)}"
    )
    # "</" inside inline JSON/JS would close the script element early
    specs_json = json.dumps(specs, default=str).replace("</", "<\\/")
    bundle = _vega_embed_bundle().replace("</script", "<\\/script")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Revenue report – {html.escape(str(info.get("data_interval", run_id)))}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
 .charts {{ display: flex; flex-wrap: wrap; gap: 24px; }}
 .note {{ color: #555; max-width: 60em; }}
 table {{ border-collapse: collapse; margin: 12px 0; font-size: 13px; }}
 th, td {{ padding: 3px 10px; text-align: right; border-bottom: 1px solid #ddd; }}
</style>
<script>{bundle}</script>
</head><body>
<h1>Nightly revenue report</h1>
<p>{facts}</p>
{"".join(body)}
<script>
const specs = {specs_json};
window.chartsRendered = Promise.all(specs.map((spec, i) =>
  vegaEmbed("#chart" + i, spec, {{renderer: "svg", actions: false}})))
  .then(() => {{ document.body.dataset.charts = "rendered"; }})
  .catch((err) => {{ document.body.dataset.charts = "failed"; console.error(err); }});
</script>
</body></html>
"""


def write_revenue_report(
    published_path: Path, reports_dir: Path, run_id: str, currency: str
) -> Path:
    """Render the report of the published marts into ``<reports_dir>/<run_id>/``."""
    info, sections = build_sections(published_path, currency)
    folder = reports_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_NAME
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(info, sections, currency, run_id), encoding="utf-8")
    tmp.replace(path)
    return path
