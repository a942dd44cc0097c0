"""Estimand expressions: probabilities of the observed distribution, products, sums and fractions.

An expression is a function of its free variables. ``Probability(head, given)`` is the observational
conditional P(head | given); ``Sum(body, over)`` marginalises, ``Product`` multiplies and
``Fraction(num, den, head)`` divides, where ``head`` records that the fraction is a conditional
distribution over ``head`` (``den = sum over head of num``), which is what lets a later sum over
those variables cancel it exactly.

The two simplifications used here are identities, never approximations:

* sum elimination: if ``u`` is summed and appears in exactly one factor, and that factor is a
  conditional distribution over ``u``, then ``sum_u P(u, a | c) = P(a | c)`` (and a conditional
  over ``u`` alone sums to one);
* conditional shortcut: ``(t * R) / sum_u (t * R) = t`` when ``t`` is a conditional distribution
  over ``u`` and ``R`` does not mention ``u``.

Bound variables may reuse a name that is free elsewhere (ID's line 7 re-enters variables that an
outer call fixed), so printing renames a bound variable with primes when it would shadow a name
in use, and evaluation scopes bindings lexically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = [
    "ONE",
    "Expression",
    "Fraction",
    "One",
    "Probability",
    "Product",
    "Sum",
    "conditional",
    "marginalize",
    "product",
]


class Expression:
    """Base class: an expression with a set of free variables."""

    __slots__ = ("_free",)
    _free: frozenset[str]

    @property
    def free(self) -> frozenset[str]:
        """The free variables (those not bound by a sum)."""
        return self._free

    def key(self) -> tuple:  # type: ignore[type-arg]
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __str__(self) -> str:
        return to_text(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {to_text(self)}>"

    def to_text(self) -> str:
        return to_text(self)

    def to_latex(self) -> str:
        return to_latex(self)


class One(Expression):
    """The constant 1 (an empty product)."""

    __slots__ = ()

    def __init__(self) -> None:
        self._free = frozenset()

    def key(self) -> tuple:  # type: ignore[type-arg]
        return ("1",)


ONE = One()


class Probability(Expression):
    """P(head | given) under the observational distribution."""

    __slots__ = ("given", "head")

    def __init__(self, head: Sequence[str], given: Sequence[str] = ()) -> None:
        self.head = tuple(head)
        self.given = tuple(given)
        self._free = frozenset(self.head) | frozenset(self.given)

    def key(self) -> tuple:  # type: ignore[type-arg]
        return ("P", self.head, self.given)


class Product(Expression):
    """A product of two or more factors."""

    __slots__ = ("terms",)

    def __init__(self, terms: Sequence[Expression]) -> None:
        self.terms = tuple(terms)
        free: set[str] = set()
        for t in self.terms:
            free |= t.free
        self._free = frozenset(free)

    def key(self) -> tuple:  # type: ignore[type-arg]
        return ("*", tuple(t.key() for t in self.terms))


class Sum(Expression):
    """sum over ``over`` of ``body``."""

    __slots__ = ("body", "over")

    def __init__(self, body: Expression, over: Sequence[str]) -> None:
        self.body = body
        self.over = tuple(over)
        self._free = body.free - frozenset(self.over)

    def key(self) -> tuple:  # type: ignore[type-arg]
        return ("sum", self.over, self.body.key())


class Fraction(Expression):
    """``numerator / denominator``; a conditional distribution over ``head`` when ``head`` is set."""

    __slots__ = ("denominator", "head", "numerator")

    def __init__(self, numerator: Expression, denominator: Expression, head: Sequence[str] = ()) -> None:
        self.numerator = numerator
        self.denominator = denominator
        self.head = tuple(head)
        self._free = numerator.free | denominator.free

    def key(self) -> tuple:  # type: ignore[type-arg]
        return ("/", self.head, self.numerator.key(), self.denominator.key())


# ---------------------------------------------------------------------------- constructors
def product(terms: Iterable[Expression]) -> Expression:
    """Multiply, flattening nested products and dropping ones."""
    flat: list[Expression] = []
    for t in terms:
        if isinstance(t, Product):
            flat.extend(t.terms)
        elif not isinstance(t, One):
            flat.append(t)
    if not flat:
        return ONE
    if len(flat) == 1:
        return flat[0]
    return Product(flat)


def _normalised_over(term: Expression) -> tuple[str, ...]:
    if isinstance(term, Probability):
        return term.head
    if isinstance(term, Fraction):
        return term.head
    return ()


def marginalize(expr: Expression, over: Iterable[str]) -> Expression:
    """sum over ``over`` of ``expr``, with every exact sum elimination applied."""
    over_t = tuple(over)
    if not over_t:
        return expr
    if isinstance(expr, Sum) and not (set(over_t) & set(expr.over)):
        over_t = expr.over + over_t
        expr = expr.body
    terms: list[Expression | None] = list(expr.terms) if isinstance(expr, Product) else [expr]
    users: dict[str, list[int]] = {u: [] for u in over_t}
    for k, t in enumerate(terms):
        assert t is not None
        for u in t.free:
            if u in users:
                users[u].append(k)
    remaining = list(over_t)
    changed = True
    while changed:
        changed = False
        for u in reversed(list(remaining)):
            where = users[u]
            if len(where) != 1:
                continue
            k = where[0]
            term = terms[k]
            assert term is not None
            if isinstance(term, Probability) and u in term.head:
                head = tuple(h for h in term.head if h != u)
                terms[k] = Probability(head, term.given) if head else None
                remaining.remove(u)
                users[u] = []
                changed = True
                if not head:
                    for g in term.given:
                        if g in users:
                            users[g].remove(k)
            elif isinstance(term, Fraction) and term.head and u in term.head:
                fraction_head = set(term.head)
                if fraction_head <= set(remaining) and all(users[h] == [k] for h in fraction_head):
                    terms[k] = None
                    for h in term.head:
                        remaining.remove(h)
                        users[h] = []
                    for g in term.free - fraction_head:
                        if g in users:
                            users[g].remove(k)
                    changed = True
    body = product(t for t in terms if t is not None)
    if not remaining:
        return body
    order = {u: i for i, u in enumerate(over_t)}
    return Sum(body, sorted(remaining, key=order.__getitem__))


def conditional(joint: Expression, head: Sequence[str], given: Sequence[str]) -> Expression:
    """``joint / sum_head joint``: the conditional over ``head`` of a distribution over head and given."""
    head = tuple(head)
    head_set = set(head)
    terms = list(joint.terms) if isinstance(joint, Product) else [joint]
    users = [t for t in terms if t.free & head_set]
    if len(users) == 1 and set(_normalised_over(users[0])) == head_set:
        return users[0]  # joint = t * R with R free of head and t a conditional over head
    if isinstance(joint, Probability) and head_set <= set(joint.head):
        rest = tuple(v for v in joint.head if v not in head_set)
        return Probability(head, rest + joint.given)
    denominator = marginalize(joint, head)
    if isinstance(denominator, One):
        return joint
    return Fraction(joint, denominator, head)


# ---------------------------------------------------------------------------- printing
_SUBSCRIPT = re.compile(r"^([A-Za-z]+)_?(\d+)$")


def _latex_name(name: str) -> str:
    primes = len(name) - len(name.rstrip("'"))
    base = name[: len(name) - primes] if primes else name
    m = _SUBSCRIPT.match(base)
    if m and len(m.group(1)) == 1:
        out = f"{m.group(1)}_{{{m.group(2)}}}"
    elif len(base) == 1 and base.isalpha():
        out = base
    else:
        escaped = base
        for ch in "\\{}_^%&#$~":
            escaped = escaped.replace(ch, "\\" + ch if ch != "\\" else r"\backslash ")
        out = rf"\mathrm{{{escaped}}}"
    return out + "'" * primes


class _Printer:
    def __init__(self, latex: bool) -> None:
        self.latex = latex

    def names(self, names: Sequence[str], env: dict[str, str]) -> str:
        shown = [env.get(n, n) for n in names]
        if self.latex:
            return ", ".join(_latex_name(n) for n in shown)
        return ", ".join(shown)

    def fresh(self, name: str, taken: set[str]) -> str:
        new = name
        while new in taken:
            new += "'"
        return new

    def render(self, expr: Expression, env: dict[str, str], taken: set[str]) -> str:
        latex = self.latex
        if isinstance(expr, One):
            return "1"
        if isinstance(expr, Probability):
            head = self.names(expr.head, env)
            if not expr.given:
                return f"P({head})"
            bar = r" \mid " if latex else " | "
            return f"P({head}{bar}{self.names(expr.given, env)})"
        if isinstance(expr, Product):
            parts = []
            for t in expr.terms:
                s = self.render(t, env, taken)
                if isinstance(t, Sum):
                    s = (r"\left[" + s + r"\right]") if latex else f"[{s}]"
                elif isinstance(t, Fraction) and not latex:
                    s = f"({s})"
                parts.append(s)
            return (r" \, " if latex else " ").join(parts)
        if isinstance(expr, Sum):
            inner_env = dict(env)
            inner_taken = set(taken)
            bound = []
            for v in expr.over:
                new = self.fresh(v, inner_taken)
                inner_env[v] = new
                inner_taken.add(new)
                bound.append(new)
            body = self.render(expr.body, inner_env, inner_taken)
            if latex:
                return r"\sum_{" + ", ".join(_latex_name(b) for b in bound) + "} " + body
            return "Σ_{" + ", ".join(bound) + "} " + body
        if isinstance(expr, Fraction):
            num = self.render(expr.numerator, env, taken)
            den = self.render(expr.denominator, env, taken)
            if latex:
                return r"\frac{" + num + "}{" + den + "}"
            wrap_n = f"[{num}]" if isinstance(expr.numerator, Sum | Product | Fraction) else num
            wrap_d = f"[{den}]" if isinstance(expr.denominator, Sum | Product | Fraction) else den
            return f"{wrap_n} / {wrap_d}"
        raise TypeError(f"unknown expression {type(expr).__name__}")


def to_text(expr: Expression) -> str:
    """Readable text, with Σ for sums and bound variables primed where they would shadow."""
    return _Printer(latex=False).render(expr, {}, set(expr.free))


def to_latex(expr: Expression) -> str:
    """LaTeX (math mode, without the dollar signs)."""
    return _Printer(latex=True).render(expr, {}, set(expr.free))
