"""The readable account of the ID/IDC recursion (``identification/explain.py``).

One row per recursive call of ID, indented by depth, naming the line that fired and its sets; for
conditional queries, IDC's rule-2 moves and its line 2 come first. Expected rows are written by hand
from traces built by hand (a bitset graph and ``IdStep`` objects made in the test) and from the
textbook traces of the napkin and the front-door.
"""

from __future__ import annotations

from lightning_causal import CausalGraph, identify
from lightning_causal.graph.bitgraph import BitGraph
from lightning_causal.graph.named import NamedGraph
from lightning_causal.identification.explain import explain_trace
from lightning_causal.identification.trace import IdStep


def _core() -> BitGraph:
    """A -> B -> C with A <-> C, in the order A, B, C."""
    return BitGraph(["A", "B", "C"], [("A", "B"), ("B", "C")], [("A", "C")])


def test_each_line_of_id_reads_as_one_row() -> None:
    core = _core()
    A, B, C = 1, 2, 4
    one = IdStep(1, C, 0, C)
    assert explain_trace(one, core, "P(C)", (), ("C",)) == (
        "ID(y={C}, x={}) on {C}: line 1: x is empty, so the answer is the current distribution's marginal of y"
    )
    two = IdStep(2, B, A, A | B | C)
    two.keep = A | B
    six = IdStep(6, B, A, A | B)
    six.s, six.factors = B, ((1, A),)
    two.child = six
    assert explain_trace(two, core, "P(B | do(A))", ("A",), ("B",)).splitlines() == [
        "ID(y={B}, x={A}) on {A, B, C}: line 2: only An(y) = {A, B} matters; marginalise out {C}",
        "  ID(y={B}, x={A}) on {A, B}: line 6: {B} is a c-component of G: P(B | A)",
    ]
    three = IdStep(3, C, B, A | B | C)
    three.w = A
    seven = IdStep(7, C, A | B, A | B | C)
    seven.s, seven.s_prime, seven.factors = C, A | C, ((0, 0), (2, A | B))
    seven.child = IdStep(1, C, 0, A | C)
    three.child = seven
    assert explain_trace(three, core, "P(C | do(B))", ("B",), ("C",)).splitlines() == [
        "ID(y={C}, x={B}) on {A, B, C}: line 3: {A} cannot reach y once the edges into x are cut; add them to x",
        "  ID(y={C}, x={A, B}) on {A, B, C}: line 7: {C} lies inside the c-component S' = {A, C}; "
        "recurse in G[S'] on P' = P(A) P(C | A, B)",
        "    ID(y={C}, x={}) on {A, C}: line 1: x is empty, so the answer is the current distribution's marginal of y",
    ]


def test_line_4_lists_the_c_components_and_explains_each_part_one_level_deeper() -> None:
    core = _core()
    A, B, C = 1, 2, 4
    four = IdStep(4, C, B, A | B | C)
    four.parts = ((A | C, IdStep(1, A | C, 0, A | C)), (B, IdStep(1, B, 0, B)))
    rows = explain_trace(four, core, "P(C | do(B))", ("B",), ("C",)).splitlines()
    assert rows[0] == (
        "ID(y={C}, x={B}) on {A, B, C}: line 4: G minus x splits into c-components {A, C}, {B}; "
        "identify each c-factor and multiply"
    )
    assert [r.split(":")[0] for r in rows[1:]] == ["  ID(y={A, C}, x={}) on {A, C}", "  ID(y={B}, x={}) on {B}"]


def test_napkin_explanation(napkin: CausalGraph) -> None:
    assert identify(napkin, "X", "Y").explain().splitlines() == [
        "ID(y={Y}, x={X}) on {W1, W2, X, Y}: line 3: {W1, W2} cannot reach y once the edges into x are cut; "
        "add them to x",
        "  ID(y={Y}, x={W1, W2, X}) on {W1, W2, X, Y}: line 7: {Y} lies inside the c-component S' = {W1, X, Y}; "
        "recurse in G[S'] on P' = P(W1) P(X | W1, W2) P(Y | W1, W2, X)",
        "    ID(y={Y}, x={W1, X}) on {W1, X, Y}: line 2: only An(y) = {X, Y} matters; marginalise out {W1}",
        "      ID(y={Y}, x={X}) on {X, Y}: line 6: {Y} is a c-component of G: P(Y | X)",
    ]


def test_frontdoor_explanation_has_one_row_per_call(named_graphs: dict[str, NamedGraph]) -> None:
    rows = identify(named_graphs["frontdoor"].graph, "X", "Y").explain().splitlines()
    assert rows == [
        "ID(y={Y}, x={X}) on {X, Z, Y}: line 4: G minus x splits into c-components {Z}, {Y}; "
        "identify each c-factor and multiply",
        "  ID(y={Z}, x={X, Y}) on {X, Z, Y}: line 2: only An(y) = {X, Z} matters; marginalise out {Y}",
        "    ID(y={Z}, x={X}) on {X, Z}: line 6: {Z} is a c-component of G: P(Z | X)",
        "  ID(y={Y}, x={X, Z}) on {X, Z, Y}: line 7: {Y} lies inside the c-component S' = {X, Y}; "
        "recurse in G[S'] on P' = P(X) P(Y | X, Z)",
        "    ID(y={Y}, x={X}) on {X, Y}: line 2: only An(y) = {Y} matters; marginalise out {X}",
        "      ID(y={Y}, x={}) on {Y}: line 1: x is empty, so the answer is the current distribution's marginal of y",
    ]


def test_idc_explains_a_rule_2_move_before_the_id_rows() -> None:
    movable = CausalGraph(directed=[("X", "Z"), ("Z", "Y"), ("X", "Y")], bidirected=[("X", "Z")])
    assert identify(movable, "X", "Y", "Z").explain().splitlines() == [
        "IDC for P(Y | do(X), Z):",
        "  line 1: rule 2 of the do-calculus: (Y indep Z | X) in G with edges into (X) and out of Z cut: "
        "treat Z as intervened",
        "  line 2: no condition left; identify P(Y | do(X, Z)) with ID",
        "    ID(y={Y}, x={X, Z}) on {X, Z, Y}: line 6: {Y} is a c-component of G: P(Y | X, Z)",
    ]


def test_idc_that_keeps_its_condition_identifies_the_joint_then_conditions(
    named_graphs: dict[str, NamedGraph],
) -> None:
    g = named_graphs["conditional"]
    rows = identify(g.graph, g.treatment, g.outcome, g.condition).explain().splitlines()
    assert rows[:2] == ["IDC for P(Y | do(X), Z):", "  line 2: identify P(Y, Z | do(X)) with ID, then condition on Z"]
    # An({Y, Z}) is the whole graph and nothing is cut off from y, so the first call splits at line 4
    assert rows[2] == (
        "    ID(y={Y, Z}, x={X}) on {X, M, Y, Z}: line 4: G minus x splits into c-components {M}, {Y}, {Z}; "
        "identify each c-factor and multiply"
    )
    assert all(r.startswith("    ") for r in rows[2:])


def test_rule_2_rows_condition_on_the_conditions_not_yet_moved() -> None:
    core = BitGraph(["X", "Z1", "Z2", "Z3", "Y"], [], [])
    trace = IdStep(1, core.mask(["Y", "Z3"]), 0, core.mask(["Y", "Z3"]))
    rows = explain_trace(
        trace, core, "P(Y | do(X), Z1, Z2, Z3)", ("X",), ("Y",), ("Z1", "Z2", "Z3"), moved=("Z2", "Z1")
    ).splitlines()
    assert rows[:4] == [
        "IDC for P(Y | do(X), Z1, Z2, Z3):",
        "  line 1: rule 2 of the do-calculus: (Y indep Z2 | X, Z1, Z3) in G with edges into (X) and out of Z2 cut: "
        "treat Z2 as intervened",
        "  line 1: rule 2 of the do-calculus: (Y indep Z1 | X, Z2, Z3) in G with edges into (X, Z2) and out of Z1 cut: "
        "treat Z1 as intervened",
        "  line 2: identify P(Y, Z3 | do(X, Z2, Z1)) with ID, then condition on Z3",
    ]
    assert rows[4].startswith("    ID(y={Z3, Y}, x={}) on {Z3, Y}: line 1")
    assert len(rows) == 5


def test_a_first_move_without_treatment_cuts_nothing() -> None:
    core = BitGraph(["Z", "Y"], [("Z", "Y")], [])
    rows = explain_trace(IdStep(1, 2, 0, 2), core, "P(Y | Z)", (), ("Y",), ("Z",), moved=("Z",)).splitlines()
    assert rows[1] == (
        "  line 1: rule 2 of the do-calculus: (Y indep Z | ) in G with edges into (nothing) and out of Z cut: "
        "treat Z as intervened"
    )
    assert rows[2] == "  line 2: no condition left; identify P(Y | do(Z)) with ID"
