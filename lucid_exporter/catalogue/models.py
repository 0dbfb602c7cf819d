"""The shapes of the domain facts under ``lucid_exporter/catalogue/``: one pydantic model per file.

Each fact is written once, in one YAML file, and read by everything that needs it: the runtime
(services, status checks), ``doctor`` (problems and their steps, alerts), the rule renderer,
the dashboard builder, the generated docs and the tests. Unknown keys are errors, so a typo in a
data file fails the first test that loads it rather than silently dropping a fact.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
ALERT_NAME = re.compile(r"^Lucid[A-Z][A-Za-z0-9]*$")
DURATION = re.compile(r"^(\d+[smhd])+$")


class Fact(BaseModel):
    # defer_build: a model's validator is built on its first use, so that ``serve``, which reads
    # only the services and the checks, does not pay at start-up for the alerts' and problems'.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# -- clusters.yaml -----------------------------------------------------------------------------------
class Cluster(Fact):
    """One of the guide's ten clusters, or the exporter itself (``kind: exporter``): its runbook
    file is ``docs/runbooks/<name>.md`` and its dashboard ``lucid-<name>``."""

    name: str
    title: str = Field(description="dashboard and runbook title")
    guide_parts: list[str] = Field(description="the guide's '## ... Troubleshooting' parts it covers")
    kind: Literal["lucid", "exporter"] = "lucid"


# -- problems.yaml -----------------------------------------------------------------------------------
class Step(Fact):
    """One diagnostic or solution step of the guide: a comment line and the commands below it.

    ``destructive``: it deletes data, access or state (printed behind a warning, and only for a
    problem that was observed). ``reveals_secret``: its output shows a secret (printed with a warning
    not to paste the output anywhere). ``observed_by``: the metrics whose values the exporter shows
    in the step's place (doctor prints them next to the command).
    """

    what: str
    command: str
    destructive: bool = False
    reveals_secret: bool = False
    observed_by: list[str] = Field(default_factory=list)
    note: str = Field("", description="why the step is flagged, or what the operator must know first")


class Problem(Fact):
    """One '#### Problem:' of the guide (or one section of the exporter's own runbook)."""

    slug: str
    title: str
    cluster: str
    part: str = ""
    section: str = ""
    symptoms: list[str] = Field(default_factory=list)
    diagnostics: list[Step] = Field(default_factory=list)
    solutions: list[Step] = Field(default_factory=list)

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError(f"{v!r} is not a heading anchor (lower case, digits, hyphens)")
        return v


# -- services.yaml -----------------------------------------------------------------------------------
class ServiceSpec(Fact):
    """One service of the Lucid stack. ``problem`` is the guide problem that diagnoses it when it is
    down: doctor and the service-down alerts both read it from here."""

    name: str
    cluster: str
    port: int | None = Field(None, ge=1, le=65535, description="the guide's port; none when the guide gives none")
    health: Literal["http", "tcp", "none"] = "http"
    health_path: str = "/health"
    problem: str
    container: str = Field("", description="container name; default lucid-<name>")
    note: str = ""

    @property
    def container_name(self) -> str:
        return self.container or f"lucid-{self.name}"


# -- metrics.yaml ------------------------------------------------------------------------------------
class MetricSpec(Fact):
    """One exported metric name: its type, labels, what produces it, and who reads it.

    ``informational`` (with a reason) marks a metric no rule and no panel needs to read.
    """

    name: str
    type: Literal["gauge", "counter", "info", "external"] = "gauge"
    help: str = ""
    labels: list[str] = Field(default_factory=list)
    source: str = Field(description="the probe kind that produces it, or 'prometheus' for Prometheus' own series")
    note: str = Field("", description="what rules and panels may assume about its values")
    informational: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not METRIC_NAME.match(v):
            raise ValueError(f"{v!r} is not a metric name")
        return v


# -- alerts/<file>.yaml ------------------------------------------------------------------------------
class Case(Fact):
    """A promtool test group: input series (series -> promtool expanding notation) at 1m steps."""

    series: dict[str, str]
    at: str = "10m"
    labels: dict[str, str] = Field(default_factory=dict, description="labels the alert inherits from the series")
    description: str = Field("", description="expected rendered description (firing cases)")
    quiet_at: list[str] = Field(default_factory=list, description="eval times inside for: at which it must not fire")


class AlertTests(Fact):
    fires: Case
    silent: Case


class AlertSpec(Fact):
    """One alert rule and why it is what it is.

    ``services``: the services whose outage this alert pages for (its problem is then theirs, read
    from services.yaml, and must not be repeated here); ``["*"]``: every service without an alert
    of its own (rendered once per problem; ``problem`` is then that of services outside the catalogue).
    ``expr`` may hold ``[[threshold]]`` (the threshold, written once) and ``[[job]]`` (the consumer's job
    selector); cases may hold ``[[job]]`` and ``[[job_name]]``.
    ``scope``: ``stack`` (the default) when the alert fires per target, keeping the ``stack`` and
    ``instance`` labels of a fleet (docs/fleet.md); ``fleet`` when it is deliberately about every
    target at once (absent(): no exporter scraped at all), which its ``why`` must explain.
    """

    alert: str
    problem: str = ""
    services: list[str] = Field(default_factory=list)
    severity: Literal["critical", "warning", "info"]
    expr: str
    threshold: float | None = None
    for_: str = Field(alias="for")
    summary: str
    description: str
    why: str
    cluster: str = Field("", description="cluster label when not the file's; may be a template")
    dashboard: str = Field("", description="dashboard uid when not lucid-<file>")
    scope: Literal["stack", "fleet"] = "stack"
    tests: AlertTests

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @field_validator("alert")
    @classmethod
    def _name(cls, v: str) -> str:
        if not ALERT_NAME.match(v):
            raise ValueError(f"{v!r}: alert names are CamelCase and start with Lucid")
        return v

    @field_validator("for_")
    @classmethod
    def _duration(cls, v: str) -> str:
        if not DURATION.match(v):
            raise ValueError(f"{v!r} is not a Prometheus duration")
        return v

    @model_validator(mode="after")
    def _problem_once(self) -> AlertSpec:
        generic = self.services == ["*"]
        if not generic and bool(self.problem) == bool(self.services):
            raise ValueError(f"{self.alert}: give either problem or services (whose problem it takes), not both")
        if generic and not self.problem:
            raise ValueError(f"{self.alert}: services [*] needs the problem of services outside the catalogue")
        if ("[[threshold]]" in self.expr) != (self.threshold is not None):
            raise ValueError(f"{self.alert}: threshold and the [[threshold]] placeholder go together")
        return self


# -- checks/<profile>.yaml ---------------------------------------------------------------------------
Agg = Literal["value", "bool", "len", "count_by", "map", "min", "max", "sum", "avg", "timestamp", "per_item"]
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class Extraction(Fact):
    """One metric from one field of a JSON reply.

    ``field``, ``item`` and ``by`` are JMESPath expressions (https://jmespath.org): ``field`` on the
    reply, ``item`` and ``by`` on each item of a list (or each value of an object).

    agg: value (the number), bool (1/0), len (of a list or object), count_by (items counted by their
    ``by``, as label ``label``), map (an object of label -> number), min/max/sum/avg (of each item's
    ``item``), timestamp (ISO-8601 or Unix seconds/milliseconds -> seconds), per_item (one series per
    item, labelled with its ``by``, valued by its ``item``; highest first, capped at ``cap`` or the
    configured default).
    """

    metric: str = Field(description="metric name, lucid_...")
    agg: Agg = Field("value", description="how the field becomes a number")
    field: str = Field("", description="JMESPath of the field in the reply (empty: the whole reply)")
    help: str = ""
    item: str = Field("", description="JMESPath on each item (min/max/sum/avg/per_item)")
    by: str = Field("", description="JMESPath on each item to group or label by (count_by/per_item)")
    label: str = Field("", description="label name for count_by/map/per_item")
    values: list[str] = Field(default_factory=list, description="label values always exposed, 0 when absent")
    labels: dict[str, str] = Field(default_factory=dict, description="constant labels")
    type: Literal["gauge", "counter"] = "gauge"
    scale: float = 1.0
    cap: int | None = Field(None, ge=0, description="per_item: series cap (default status.per_node_series_cap)")
    only: Literal["", "wallets"] = Field("", description="per_item: keep only status.wallets")
    optional: bool = Field(False, description="a missing field is skipped instead of failing the check")
    map: dict[str, str] = Field(default_factory=dict, description="label value renames")

    @model_validator(mode="after")
    def _valid(self) -> Extraction:
        m = self.metric
        if not METRIC_NAME.match(m) or not m.startswith("lucid_"):
            raise ValueError(f"metric {m!r}: must be a valid metric name starting with lucid_")
        if self.type == "counter" and not m.endswith("_total"):
            raise ValueError(f"metric {m!r}: a counter's name must end in _total")
        if self.agg in ("count_by", "map", "per_item") and not LABEL_NAME.match(self.label):
            raise ValueError(f"metric {m!r}: {self.agg} needs a valid label name")
        if self.agg in ("count_by", "per_item") and not self.by:
            raise ValueError(f"metric {m!r}: {self.agg} needs `by` (the field to group by)")
        for k in self.labels:
            if not LABEL_NAME.match(k):
                raise ValueError(f"metric {m!r}: invalid label name {k!r}")
        return self


WALLET = "{wallet}"


class CheckSpec(Fact):
    """One status check: one read-only request to one service, and the metrics of its reply.

    kind: json (extractions from a JSON reply), rate_limit (the gateway's rate-limit evidence),
    cors (the gateway's CORS preflight for each configured origin), auth_verify (the monitoring
    token against the auth service).

    auth: none; token (``status.token`` as a bearer token); blockchain (the Lucid blockchain API's
    two layers: ``status.blockchain_api_key`` in ``X-API-Key`` and ``api-key``, plus a bearer header).
    A path holding ``{wallet}`` is requested once per address of ``status.wallets``, and every sample
    of that reply is labelled ``wallet``.

    unavailable: the profile's API has no endpoint for it (the reason); the check is not run, and
    ``replaced_by`` names the signals (metrics) that stand in for it. ``alerts``: for each alert that
    reads a metric of the guide's version of the check, what that alert means under this profile
    (which signal replaces it, or that the symptom cannot be observed).
    """

    name: str
    service: str
    path: str = ""
    method: Literal["GET", "HEAD", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    auth: Literal["none", "token", "blockchain"] = "none"
    kind: Literal["json", "rate_limit", "cors", "auth_verify"] = "json"
    ok_metric: str = Field("", description="1 on 2xx, 0 on 401/403 (the token may not read it)")
    base: Literal["service", "trongrid"] = "service"
    url: str = Field("", description="absolute URL; overrides the service address and path")
    help: str = ""
    metrics: list[Extraction] = Field(default_factory=list)
    rate_limit_headers: Literal["every_response", "on_refusal"] = Field(
        "every_response", description="rate_limit: when the gateway sends X-RateLimit-* (what their absence proves)")
    startup_log: str = Field("", description="rate_limit: regular expression of the gateway's start-up log line "
                             "with groups enabled and rpm (evidence read once per container start)")
    unavailable: str = Field("", description="why the profile's API has no endpoint for this check")
    replaced_by: list[str] = Field(default_factory=list, description="metrics that stand in for an unavailable check")
    alerts: dict[str, str] = Field(default_factory=dict,
                                   description="alert name -> what it means under this profile")

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if v and not v.startswith("/"):
            raise ValueError("must start with /")
        return v

    @field_validator("startup_log")
    @classmethod
    def _startup_log(cls, v: str) -> str:
        if v:
            try:
                rx = re.compile(v)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from None
            if not {"enabled", "rpm"} <= set(rx.groupindex):
                raise ValueError("needs the named groups enabled and rpm")
        return v

    @model_validator(mode="after")
    def _runnable_or_reasoned(self) -> CheckSpec:
        if self.unavailable:
            return self
        if self.replaced_by:
            raise ValueError(f"{self.name}: replaced_by belongs to an unavailable check")
        if not self.path and not self.url:
            raise ValueError(f"{self.name}: a check needs a path (or url), or the reason it is unavailable")
        return self

    @property
    def per_wallet(self) -> bool:
        return WALLET in self.path


class ServiceOverride(Fact):
    """What an API profile changes in one row of services.yaml: where the service listens and answers
    its health, or that it does not exist at all under this profile (``absent``: the reason)."""

    container: str | None = Field(None, description="container name, also its address on the compose network")
    port: int | None = Field(None, ge=1, le=65535)
    health: Literal["http", "tcp", "none"] | None = None
    health_path: str | None = None
    absent: str = Field("", description="the service does not exist under this profile: why")
    note: str = ""

    @field_validator("health_path")
    @classmethod
    def _health_path(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("must start with /")
        return v


class ApiProfile(Fact):
    """checks/<profile>.yaml: one API profile, the checks it runs and the service facts it changes."""

    name: str
    title: str
    source: str = Field(description="where the facts come from")
    services: dict[str, ServiceOverride] = Field(default_factory=dict)
    redis_rate_limit_db: int = Field(0, ge=0, description="the Redis database the rate-limit keys live in")
    checks: list[CheckSpec]
