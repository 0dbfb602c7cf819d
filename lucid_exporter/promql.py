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
