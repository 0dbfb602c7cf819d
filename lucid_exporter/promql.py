"""PromQL, read with promql-parser (the Rust parser of GreptimeDB, the field's parser for Python).

``metric_names`` lists the series an expression reads: the alert renderer, the dashboard builder
and the tests use it to tie every rule and panel to the metric specs. ``evaluate`` (doctor) runs an
expression at one instant over one probe round's samples: enough of PromQL for the shipped rules
that need no history (selectors, arithmetic and comparison with vector matching, and/or/unless,
aggregations, absent(), time()); an expression over a range (rate, increase) or another time (offset)
raises NeedsHistory.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import promql_parser as pp


def parse(expr: str) -> pp.Expr:
    return pp.parse(expr)


def metric_names(expr: str) -> set[str]:
    """Every metric name selected by ``expr`` (``ALERTS`` and Prometheus' own ``up`` included)."""
    names: set[str] = set()

    def visit(node: pp.Expr) -> None:
        if isinstance(node, pp.VectorSelector):
            if node.name:
                names.add(node.name)
            else:
                names.update(m.value for m in node.matchers.matchers if m.name == "__name__")

    pp.walk(parse(expr), visit)
    return names


# -- instant evaluation over one probe round ---------------------------------------------------------
Labels = frozenset[tuple[str, str]]


class NeedsHistory(Exception):
    """The expression reads a range (rate, increase, deriv, a subquery): one round cannot answer it."""


class Unsupported(Exception):
    """A construct outside the subset ``evaluate`` implements."""


@dataclass(frozen=True, slots=True)
class Point:
    labels: Labels
    value: float

    def label(self, name: str) -> str:
        return dict(self.labels).get(name, "")


Value = float | list[Point]
_CMP: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}


def _pow(a: float, b: float) -> float:
    try:
        return float(a**b)
    except (OverflowError, ZeroDivisionError):
        return math.nan


def _div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def _mod(a: float, b: float) -> float:
    return math.nan if b == 0 else math.fmod(a, b)


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": _div, "%": _mod, "^": _pow,
}


def _without_name(labels: Labels) -> Labels:
    return frozenset(kv for kv in labels if kv[0] != "__name__")


def _matches(m: pp.Matcher, value: str) -> bool:
    op = m.op
    if op == pp.MatchOp.Equal:
        return value == m.value
    if op == pp.MatchOp.NotEqual:
        return value != m.value
    hit = re.fullmatch(m.value, value) is not None
    return hit if op == pp.MatchOp.Re else not hit


class _Evaluator:
    def __init__(self, points: list[Point], now: float) -> None:
        self.by_name: dict[str, list[Point]] = {}
        for p in points:
            self.by_name.setdefault(p.label("__name__"), []).append(p)
        self.now = now

    def eval(self, node: pp.Expr) -> Value:
        if isinstance(node, pp.NumberLiteral):
            return float(node.val)
        if isinstance(node, pp.ParenExpr):
            return self.eval(node.expr)
        if isinstance(node, pp.UnaryExpr):
            v = self.eval(node.expr)
            return -v if isinstance(v, float) else [Point(_without_name(p.labels), -p.value) for p in v]
        if isinstance(node, pp.VectorSelector):
            return self.select(node)
        if isinstance(node, pp.MatrixSelector | pp.SubqueryExpr):
            raise NeedsHistory("a range over time")
        if isinstance(node, pp.Call):
            return self.call(node)
        if isinstance(node, pp.AggregateExpr):
            return self.aggregate(node)
        if isinstance(node, pp.BinaryExpr):
            return self.binary(node)
        raise Unsupported(type(node).__name__)

    def select(self, node: pp.VectorSelector) -> list[Point]:
        if node.offset is not None or node.at is not None:
            raise NeedsHistory("a value from another time (offset, @)")
        candidates = self.by_name.get(node.name, []) if node.name else [p for ps in self.by_name.values() for p in ps]
        return [p for p in candidates if all(_matches(m, p.label(m.name)) for m in node.matchers.matchers)]

    def call(self, node: pp.Call) -> Value:
        name = node.func.name
        if name == "time":
            return self.now
        if name == "vector":
            v = self.eval(node.args[0])
            return [Point(frozenset(), v if isinstance(v, float) else math.nan)]
        if name == "absent":
            arg = node.args[0]
            v = self.eval(arg)
            if isinstance(v, list) and v:
                return []
            labels: set[tuple[str, str]] = set()
            if isinstance(arg, pp.VectorSelector):
                labels = {(m.name, m.value) for m in arg.matchers.matchers
                          if m.op == pp.MatchOp.Equal and m.name != "__name__"}
            return [Point(frozenset(labels), 1.0)]
        if name in ("abs", "ceil", "floor"):
            fns: dict[str, Callable[[float], float]] = {"abs": abs, "ceil": math.ceil, "floor": math.floor}
            fn = fns[name]
            v = self.eval(node.args[0])
            if isinstance(v, float):
                return float(fn(v))
            return [Point(_without_name(p.labels), float(fn(p.value))) for p in v]
        if name in ("clamp_min", "clamp_max"):
            v, bound = self.eval(node.args[0]), self.eval(node.args[1])
            if not isinstance(v, list) or not isinstance(bound, float):
                raise Unsupported(name)
            pick = max if name == "clamp_min" else min
            return [Point(_without_name(p.labels), pick(p.value, bound)) for p in v]
        if any(isinstance(a, pp.MatrixSelector | pp.SubqueryExpr) for a in node.args):
            raise NeedsHistory(name)
        raise Unsupported(f"function {name}")

    def aggregate(self, node: pp.AggregateExpr) -> list[Point]:
        op = str(node.op)
        v = self.eval(node.expr)
        if not isinstance(v, list):
            raise Unsupported("aggregation of a scalar")
        mod = node.modifier
        keep: Callable[[Labels], Labels]
        if mod is None:
            def keep(labels: Labels) -> Labels:
                return frozenset()
        elif mod.type == pp.AggModifierType.By:
            wanted = set(mod.labels)

            def keep(labels: Labels) -> Labels:
                return frozenset(kv for kv in labels if kv[0] in wanted)
        else:
            dropped = {*mod.labels, "__name__"}

            def keep(labels: Labels) -> Labels:
                return frozenset(kv for kv in labels if kv[0] not in dropped)
        groups: dict[Labels, list[float]] = {}
        for p in v:
            groups.setdefault(keep(p.labels), []).append(p.value)
        fns: dict[str, Callable[[list[float]], float]] = {
            "sum": math.fsum, "min": min, "max": max, "count": lambda xs: float(len(xs)),
            "avg": lambda xs: math.fsum(xs) / len(xs), "group": lambda xs: 1.0,
        }
        if op not in fns:
            raise Unsupported(f"aggregation {op}")
        return [Point(k, float(fns[op](xs))) for k, xs in groups.items()]

    def binary(self, node: pp.BinaryExpr) -> Value:
        op = str(node.op)
        mod = node.modifier
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        return_bool = bool(mod is not None and mod.return_bool)
        if op in ("and", "or", "unless"):
            if not isinstance(lhs, list) or not isinstance(rhs, list):
                raise Unsupported(f"{op} with a scalar")
            return self.set_op(op, lhs, rhs, mod)
        if isinstance(lhs, float) and isinstance(rhs, float):
            if op in _CMP:
                ok = _CMP[op](lhs, rhs)
                return float(ok) if return_bool else (lhs if ok else math.nan)
            return _ARITH[op](lhs, rhs)
        if isinstance(lhs, list) and isinstance(rhs, float):
            return self.vector_scalar(op, lhs, rhs, return_bool, scalar_right=True)
        if isinstance(lhs, float) and isinstance(rhs, list):
            return self.vector_scalar(op, rhs, lhs, return_bool, scalar_right=False)
        assert isinstance(lhs, list) and isinstance(rhs, list)
        return self.vector_vector(op, lhs, rhs, mod, return_bool)

    @staticmethod
    def vector_scalar(op: str, v: list[Point], s: float, return_bool: bool, scalar_right: bool) -> list[Point]:
        out = []
        for p in v:
            a, b = (p.value, s) if scalar_right else (s, p.value)
            if op in _CMP:
                ok = _CMP[op](a, b)
                if return_bool:
                    out.append(Point(_without_name(p.labels), float(ok)))
                elif ok:
                    out.append(p)
            else:
                out.append(Point(_without_name(p.labels), _ARITH[op](a, b)))
        return out

    @staticmethod
    def _signature(mod: pp.BinModifier | None) -> Callable[[Labels], Labels]:
        matching = mod.matching if mod is not None else None
        if matching is not None and matching.type == pp.LabelModifierType.Include:
            on = set(matching.labels)
            return lambda labels: frozenset(kv for kv in labels if kv[0] in on)
        ignored = {*(matching.labels if matching is not None else ()), "__name__"}
        return lambda labels: frozenset(kv for kv in labels if kv[0] not in ignored)

    def vector_vector(self, op: str, lhs: list[Point], rhs: list[Point], mod: pp.BinModifier | None,
                      return_bool: bool) -> list[Point]:
        """Vector matching as Prometheus does it: one-to-one, or many-to-one with group_left."""
        sig = self._signature(mod)
        card = mod.card if mod is not None else pp.VectorMatchCardinality.OneToOne
        if card not in (pp.VectorMatchCardinality.OneToOne, pp.VectorMatchCardinality.ManyToOne):
            raise Unsupported("group_right")
        right: dict[Labels, Point] = {}
        for p in rhs:
            key = sig(p.labels)
            if key in right:
                raise Unsupported("several right-hand series match one signature")
            right[key] = p
        out = []
        for p in lhs:
            r = right.get(sig(p.labels))
            if r is None:
                continue
            if op in _CMP:
                ok = _CMP[op](p.value, r.value)
                if not ok and not return_bool:
                    continue
                value = float(ok) if return_bool else p.value
            else:
                value = _ARITH[op](p.value, r.value)
            out.append(Point(self._result_labels(p.labels, r.labels, op, mod, return_bool), value))
        return out

    @staticmethod
    def _result_labels(lhs: Labels, rhs: Labels, op: str, mod: pp.BinModifier | None, return_bool: bool) -> Labels:
        labels = dict(lhs)
        if op in _ARITH or return_bool:
            labels.pop("__name__", None)
        matching = mod.matching if mod is not None else None
        card = mod.card if mod is not None else pp.VectorMatchCardinality.OneToOne
        if card == pp.VectorMatchCardinality.OneToOne and matching is not None:
            if matching.type == pp.LabelModifierType.Include:
                labels = {k: v for k, v in labels.items() if k in matching.labels}
            else:
                for k in matching.labels:
                    labels.pop(k, None)
        if card == pp.VectorMatchCardinality.ManyToOne and mod is not None:
            right = dict(rhs)
            for k in mod.group_labels or ():
                if k in right:
                    labels[k] = right[k]
                else:
                    labels.pop(k, None)
        return frozenset(labels.items())

    def set_op(self, op: str, lhs: list[Point], rhs: list[Point], mod: pp.BinModifier | None) -> list[Point]:
        sig = self._signature(mod)
        keys = {sig(p.labels) for p in rhs}
        if op == "and":
            return [p for p in lhs if sig(p.labels) in keys]
        if op == "unless":
            return [p for p in lhs if sig(p.labels) not in keys]
        left = {sig(p.labels) for p in lhs}
        return [*lhs, *(p for p in rhs if sig(p.labels) not in left)]


def evaluate(expr: str, samples: Iterable[tuple[str, Mapping[str, str], float]], now: float) -> list[Point]:
    """The instant vector ``expr`` gives at ``now`` over ``samples`` (name, labels, value).

    Raises NeedsHistory for an expression over a range, Unsupported outside the implemented subset."""
    points = [Point(frozenset({("__name__", n), *labels.items()}), float(v)) for n, labels, v in samples]
    result = _Evaluator(points, now).eval(parse(expr))
    if isinstance(result, float):
        return [] if math.isnan(result) else [Point(frozenset(), result)]
    return [p for p in result if not math.isnan(p.value)]


# -- stack safety: what an expression does to the labels that tell one target from another ----------
TARGET_LABELS = ("stack", "instance")
"""The labels that tell one exporter's series from another's in a fleet: ``stack`` (a target label set
by Prometheus relabelling, docs/fleet.md) and ``instance`` (the scrape target)."""

_ABSENT = {"absent", "absent_over_time"}
_LABEL_WRITERS = {"label_replace", "label_join"}


def _is_vector(node: pp.Expr) -> bool:
    """Whether ``node`` yields an instant vector (a literal, string or scalar() does not)."""
    if isinstance(node, pp.ParenExpr):
        return _is_vector(node.expr)
    if isinstance(node, pp.UnaryExpr):
        return _is_vector(node.expr)
    if isinstance(node, pp.NumberLiteral | pp.StringLiteral):
        return False
    if isinstance(node, pp.Call):
        return node.func.name not in ("time", "scalar", "pi")
    if isinstance(node, pp.BinaryExpr):
        return _is_vector(node.lhs) or _is_vector(node.rhs)
    return True


def _carries_no_target_labels(node: pp.Expr) -> bool:
    """absent() and vector() make series of their own, without the labels of any target."""
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        return _carries_no_target_labels(node.expr)
    return isinstance(node, pp.Call) and node.func.name in (*_ABSENT, "vector")


def cross_target(expr: str) -> list[str]:
    """What in ``expr`` combines the series of several targets: each aggregation, each vector
    matching with ``on``/``ignoring``/``group_left``/``group_right``, each absent(). A rule with any
    of them is one whose result depends on how the targets of a fleet are told apart, so it gets a
    promtool case with two stacks. Empty for an expression that works series by series."""
    found: list[str] = []

    def visit(node: pp.Expr) -> None:
        if isinstance(node, pp.AggregateExpr):
            mod = node.modifier
            how = "" if mod is None else f" {'by' if mod.type == pp.AggModifierType.By else 'without'} " \
                f"({', '.join(mod.labels)})"
            found.append(f"{node.op}{how}")
        elif isinstance(node, pp.Call) and node.func.name in _ABSENT:
            found.append(f"{node.func.name}()")
        elif isinstance(node, pp.BinaryExpr) and _is_vector(node.lhs) and _is_vector(node.rhs):
            bin_mod = node.modifier
            matching = bin_mod.matching if bin_mod is not None else None
            card = bin_mod.card if bin_mod is not None else pp.VectorMatchCardinality.OneToOne
            if matching is not None and (matching.labels or matching.type == pp.LabelModifierType.Include):
                kind = "on" if matching.type == pp.LabelModifierType.Include else "ignoring"
                found.append(f"{node.op} {kind} ({', '.join(matching.labels)})")
            elif card in (pp.VectorMatchCardinality.ManyToOne, pp.VectorMatchCardinality.OneToMany):
                side = "left" if card == pp.VectorMatchCardinality.ManyToOne else "right"
                found.append(f"{node.op} group_{side}")

    pp.walk(parse(expr), visit)
    return found


def stack_unsafe(expr: str, keep: tuple[str, ...] = TARGET_LABELS) -> list[str]:
    """Each place where ``expr`` could lose the labels ``keep`` (by default ``stack`` and ``instance``)
    or mix the series of two targets, said in one line; empty for a stack-safe expression.

    - an aggregation ``by (...)`` without them, or ``without (...)`` one of them, or with no grouping
      at all: its result mixes targets and carries no stack;
    - a vector matching ``on (...)`` without them (the series of one stack would match those of
      another), or ``ignoring (...)`` one of them; a side made by absent() or vector() carries no
      target labels and is exempt, absent() itself is reported;
    - absent(): in a fleet it fires only when every target has lost the series;
    - label_replace()/label_join() writing one of them, and scalar(), which drops every label.
    """
    found: list[str] = []
    wanted = set(keep)

    def missing(labels: Iterable[str]) -> str:
        return ", ".join(sorted(wanted - set(labels)))

    def visit(node: pp.Expr) -> None:
        if isinstance(node, pp.AggregateExpr):
            mod = node.modifier
            if mod is None:
                found.append(f"{node.op}(...) without by/without drops {', '.join(keep)}")
            elif mod.type == pp.AggModifierType.By and not wanted <= set(mod.labels):
                found.append(f"{node.op} by ({', '.join(mod.labels)}) drops {missing(mod.labels)}")
            elif mod.type == pp.AggModifierType.Without and wanted & set(mod.labels):
                found.append(f"{node.op} without ({', '.join(mod.labels)}) drops "
                             f"{', '.join(sorted(wanted & set(mod.labels)))}")
        elif isinstance(node, pp.Call):
            name = node.func.name
            if name in _ABSENT:
                found.append(f"{name}() fires only when no target has the series")
            elif name == "scalar":
                found.append("scalar() drops every label")
            elif name in _LABEL_WRITERS and len(node.args) > 1 and isinstance(node.args[1], pp.StringLiteral) \
                    and node.args[1].val in wanted:
                found.append(f"{name}() overwrites {node.args[1].val}")
        elif isinstance(node, pp.BinaryExpr) and _is_vector(node.lhs) and _is_vector(node.rhs):
            if _carries_no_target_labels(node.lhs) or _carries_no_target_labels(node.rhs):
                return
            bin_mod = node.modifier
            matching = bin_mod.matching if bin_mod is not None else None
            if matching is None:
                return
            if matching.type == pp.LabelModifierType.Include and not wanted <= set(matching.labels):
                found.append(f"{node.op} on ({', '.join(matching.labels)}) matches across {missing(matching.labels)}")
            elif matching.type == pp.LabelModifierType.Exclude and wanted & set(matching.labels):
                found.append(f"{node.op} ignoring ({', '.join(matching.labels)}) matches across "
                             f"{', '.join(sorted(wanted & set(matching.labels)))}")

    pp.walk(parse(expr), visit)
    return found
