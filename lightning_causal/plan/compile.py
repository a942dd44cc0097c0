"""The ID-GEN compiler: an ID trace in, a :class:`~lightning_causal.plan.SamplingPlan` out.

It reads the same trace as the estimand (``identification/trace.py``), so the plan and the estimand
follow the same lines of ID. Mirroring ID-GEN's steps (Rahman et al., NeurIPS 2024, Algorithm 1):

* S1 (line 1, x empty): ConditionalGMs for y only, chained in the topological order pi, each
  given the earlier outcomes and the carried variables before it (the y-marginal of the data);
* S2 (line 2): nothing to train; the dropped columns are simply never read;
* S3 (line 3): nothing to train; w becomes an input of the network;
* S4 (line 4): one sub-plan per c-component of G minus x, merged by MergeNetwork: each input that
  is another branch's output is wired to that branch's node;
* S5 (line 5): FAIL, detected before anything is compiled;
* S6 (line 6): ConditionalGMs, one factor per node of S, given its (Tian-reduced) predecessors;
* S7 (line 7): Update: factors for S' on the current dataset, a new dataset that copies the
  carried columns K' = K plus the predecessors of S' outside it from random rows and resamples
  every S' column (never keeping a row's own S' values), then recurse on that dataset.

Every factor takes only variables that precede its output in pi, so every merged network is
acyclic and pi restricted to its nodes is a valid sampling order (ID-GEN's Section 4.5 argument).
IDC-GEN answers P(y | do(x), z) from the network of P(y, z | do(x)) in one of two ways
(``conditioning``): ``"learn"`` adds one stage that samples that network with x (and the line-3
inputs) copied from data rows and trains y given (z, x) on those samples (the paper's IDC-GEN);
``"select"`` trains nothing more and keeps, at query time, the joint draws whose z matches the
given value (rejection; exact up to the joint network's factors, for discrete z only). ``"auto"``
compiles the learned stage and its selecting twin, and leaves the choice to the learner, which
knows the variables' types (:meth:`SamplingPlan.resolve_conditioning`: selection where every such
z is discrete).

An S1 marginal on a dataset that an S7 update generates, given exactly the columns the update
copies (the front-door's P(y | m), Verma's P(y | a, x)), is that update's own network run on those
columns. With ``marginals="compose"`` (the default) the plan wires the update's factors in its
place instead of training a factor on the generated rows, whose error would add to theirs (BENCHMARKS.md,
"Composed marginals"); the generated dataset is then dropped when nothing else trains on it.
``marginals="learn"`` keeps ID-GEN's learned marginal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lightning_causal.graph.bitgraph import BitGraph, iter_bits
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.identification.api import identify
from lightning_causal.identification.estimand import Estimand
from lightning_causal.identification.trace import IdStep
from lightning_causal.plan.parts import INPUT, Dataset, Factor, Node, Wiring, check_conditioning, check_marginals
from lightning_causal.plan.sampling_plan import SamplingPlan

__all__ = ["compile_estimand", "compile_plan"]


class _Net:
    """A network under construction: nodes are ``[name, var index, factor, [(input index, source)]]``."""

    __slots__ = ("nodes", "outputs")

    def __init__(self) -> None:
        self.nodes: list[tuple[str, int, str, list[tuple[int, str]]]] = []
        self.outputs: dict[int, str] = {}


class _Compiler:
    def __init__(self, core: BitGraph, compose: bool = True) -> None:
        self.core = core
        self.factors: dict[tuple[str, int, tuple[int, ...]], Factor] = {}
        self.datasets: dict[str, Dataset] = {"D0": Dataset("D0", "observational data")}
        self.dataset_keys: dict[tuple[str, tuple[int, ...], tuple[str, ...]], str] = {}
        self.stage: dict[str, int] = {"D0": 0}
        self.nodes = 0
        self.compose = compose
        self.pending: dict[str, Dataset] = {}  # updates' datasets no factor trains on yet (named when one does)
        self.update_nets: dict[str, tuple[_Net, int]] = {}  # an update's network and the columns it copies
        self.composed: list[str] = []
        self.renamed: dict[str, str] = {}  # a pending dataset's placeholder -> the name it was given

    # ------------------------------------------------------------------ registries
    def named(self, dataset: str) -> str:
        """The name of ``dataset``, given now (the next ``D<k>``) if it is an update's pending dataset."""
        pending = self.pending.pop(dataset, None)
        if pending is None:
            return dataset
        name = f"D{len(self.datasets)}"
        self.datasets[name] = replace(pending, name=name)
        self.stage[name] = self.stage[dataset]
        self.update_nets[name] = self.update_nets[dataset]
        self.renamed[dataset] = name
        return name

    def factor(self, dataset: str, i: int, inputs: int, origin: str) -> Factor:
        dataset = self.named(self.renamed.get(dataset, dataset))
        key = (dataset, i, tuple(iter_bits(inputs)))
        found = self.factors.get(key)
        if found is None:
            found = Factor(
                name=f"f{len(self.factors)}",
                variable=self.core.names[i],
                inputs=self.core.names_of(inputs),
                dataset=dataset,
                stage=self.stage[dataset],
                origin=origin,
            )
            self.factors[key] = found
        return found

    def node(self, net: _Net, i: int, factor: Factor, inputs: int, produced: dict[int, str]) -> str:
        name = f"n{self.nodes}"
        self.nodes += 1
        sources = [(u, produced.get(u, INPUT)) for u in iter_bits(inputs)]
        net.nodes.append((name, i, factor.name, sources))
        produced[i] = name
        return name

    # ------------------------------------------------------------------ the recursion
    def compile(self, step: IdStep, dataset: str, carried: int) -> _Net:
        line = step.line
        if line == 1:  # S1: the y-marginal of the current data, chained over y
            composed = self.composed_marginal(step.y, dataset, carried)
            if composed is not None:
                return composed
            net = _Net()
            produced: dict[int, str] = {}
            for i in iter_bits(step.y):
                before = (1 << i) - 1
                inputs = (step.y | carried) & before
                f = self.factor(dataset, i, inputs, "S1: marginal of the current data")
                net.outputs[i] = self.node(net, i, f, inputs, produced)
            return net
        if line in (2, 3):  # S2 drops columns, S3 makes w inputs: nothing to train here
            assert step.child is not None
            return self.compile(step.child, dataset, carried)
        if line == 4:  # S4: one network per c-component, then MergeNetwork
            return self.merge([self.compile(part, dataset, carried) for _, part in step.parts], step.y)
        if line == 6:  # S6: ConditionalGMs over the c-component S
            net = _Net()
            produced = {}
            for i, cond in step.factors:
                inputs = cond | (carried & ((1 << i) - 1))
                f = self.factor(dataset, i, inputs, "S6: c-component factor")
                name = self.node(net, i, f, inputs, produced)
                if step.y >> i & 1:
                    net.outputs[i] = name
            return net
        if line == 7:  # S7: Update the dataset, then recurse in G[S']
            assert step.child is not None
            new_dataset, new_carried = self.update(step, dataset, carried)
            return self.compile(step.child, new_dataset, new_carried)
        raise AssertionError(f"unexpected ID line {line}")

    def update(self, step: IdStep, dataset: str, carried: int) -> tuple[str, int]:
        """ID-GEN's Update: train S' factors on ``dataset``; generate D' with K' copied, S' resampled."""
        net = _Net()
        produced: dict[int, str] = {}
        outside = carried
        used: list[Factor] = []
        for i, cond in step.factors:
            inputs = cond | (carried & ((1 << i) - 1))
            outside |= cond & ~step.s_prime
            f = self.factor(
                dataset, i, inputs, f"S7: update model for S' = {{{', '.join(self.core.names_of(step.s_prime))}}}"
            )
            used.append(f)
            net.outputs[i] = self.node(net, i, f, inputs, produced)
        dataset = self.renamed.get(dataset, dataset)
        key = (dataset, tuple(iter_bits(outside)), tuple(sorted(self.factors_key(used))))
        name = self.dataset_keys.get(key)
        if name is None:
            name = f"?{len(self.dataset_keys)}"  # named D<k> when a factor trains on it (none may: composed)
            self.dataset_keys[key] = name
            self.stage[name] = 1 + max(f.stage for f in used)
            self.pending[name] = Dataset(
                name=name,
                origin=f"S7 update: copy {{{', '.join(self.core.names_of(outside))}}} from rows of {dataset}, "
                f"resample S' = {{{', '.join(self.core.names_of(step.s_prime))}}}",
                source=dataset,
                copied=self.core.names_of(outside),
                wiring=self.finish(net, outside),
            )
            self.update_nets[name] = (net, outside)
        return self.renamed.get(name, name), outside

    def composed_marginal(self, y: int, dataset: str, carried: int) -> _Net | None:
        """S1 on an update's dataset given exactly the columns it copies, drawn by the update's own factors.

        The marginal P_D(y | copied) of a dataset that an S7 update generates is the update's network
        run on the copied columns: sampling it needs no factor trained on the generated rows (whose
        error would add to the update factors' own). None where that does not apply (``compose`` off,
        the observational data, y not among the update's outputs, or a copied column after y in pi).
        """
        found = self.update_nets.get(dataset)
        if not self.compose or found is None:
            return None
        update, copied = found
        if copied != carried or any(i not in update.outputs for i in iter_bits(y)):
            return None
        if carried >> min(iter_bits(y)):  # a copied column after an outcome: S1 would not condition on it
            return None
        net = _Net()
        names: dict[str, str] = {}
        for name, i, factor, sources in update.nodes:
            names[name] = f"n{self.nodes}"
            self.nodes += 1
            net.nodes.append((names[name], i, factor, [(u, src if src == INPUT else names[src]) for u, src in sources]))
        net.outputs = {i: names[update.outputs[i]] for i in iter_bits(y)}
        given = ", ".join(self.core.names_of(carried))
        self.composed.append(f"P({', '.join(self.core.names_of(y))}{' | ' + given if given else ''})")
        return net

    @staticmethod
    def factors_key(factors: list[Factor]) -> list[str]:
        return [f.name for f in factors]

    def merge(self, nets: list[_Net], y: int) -> _Net:
        """MergeNetwork: wire every input that another branch outputs to that branch's node."""
        out = _Net()
        producer: dict[int, str] = {}
        for net in nets:
            producer.update(net.outputs)
        for net in nets:
            for name, i, factor, sources in net.nodes:
                wired = [(u, producer.get(u, src) if src == INPUT else src) for u, src in sources]
                out.nodes.append((name, i, factor, wired))
        out.outputs = {i: producer[i] for i in iter_bits(y)}
        return out

    def finish(self, net: _Net, inputs_allowed: int | None = None) -> Wiring:
        """Keep the nodes the outputs need, sort them by pi (a topological order) and freeze."""
        by_name = {n[0]: n for n in net.nodes}
        live: set[str] = set()
        stack = list(net.outputs.values())
        while stack:
            name = stack.pop()
            if name in live:
                continue
            live.add(name)
            stack.extend(src for _, src in by_name[name][3] if src != INPUT)
        order = {n[0]: k for k, n in enumerate(net.nodes)}
        kept = sorted((n for n in net.nodes if n[0] in live), key=lambda n: (n[1], order[n[0]]))
        names = self.core.names
        inputs = 0
        nodes = []
        for name, i, factor, sources in kept:
            for u, src in sources:
                if src == INPUT:
                    inputs |= 1 << u
            nodes.append(Node(name, names[i], factor, tuple((names[u], src) for u, src in sources)))
        if inputs_allowed is not None:
            assert not inputs & ~inputs_allowed, "a generated dataset's network reads a column it does not copy"
        return Wiring(
            nodes=tuple(nodes),
            inputs=self.core.names_of(inputs),
            outputs=tuple((names[i], net.outputs[i]) for i in sorted(net.outputs)),
        )


def compile_estimand(estimand: Estimand, conditioning: str = "auto", marginals: str = "compose") -> SamplingPlan:
    """The sampling plan that follows the ID trace behind ``estimand``; ``conditioning`` and ``marginals``: see
    the module docstring."""
    conditioning = check_conditioning(conditioning)
    marginals = check_marginals(marginals)
    graph = estimand.graph
    core = graph.core
    compiler = _Compiler(core, compose=marginals == "compose")
    top = compiler.compile(estimand.trace, "D0", 0)
    remaining = tuple(c for c in estimand.condition if c not in estimand.moved)
    wiring = compiler.finish(top)
    treatment_like = set(estimand.treatment) | set(estimand.moved)
    selected = remaining if conditioning == "select" else ()
    if remaining and not selected:
        # IDC-GEN: sample (y, z) from the joint network with its inputs copied from data rows,
        # then train y given z and the intervened inputs on those samples.
        name = f"D{len(compiler.datasets)}"
        by_name = {f.name: f for f in compiler.factors.values()}
        compiler.stage[name] = 1 + max(by_name[n.factor].stage for n in wiring.nodes)
        compiler.datasets[name] = Dataset(
            name=name,
            origin=f"IDC-GEN: samples of the network for P({', '.join(estimand.outcome + remaining)} | do(...)), "
            f"inputs {{{', '.join(wiring.inputs)}}} copied from rows of D0",
            source="D0",
            copied=wiring.inputs,
            wiring=wiring,
        )
        y = core.mask(estimand.outcome)
        given = core.mask(remaining) | core.mask(v for v in wiring.inputs if v in treatment_like)
        final = _Net()
        produced: dict[int, str] = {}
        for i in iter_bits(y):
            inputs = given | (y & ((1 << i) - 1))
            f = compiler.factor(name, i, inputs, "IDC-GEN: outcome given conditions and interventions")
            final.outputs[i] = compiler.node(final, i, f, inputs, produced)
        wiring = compiler.finish(final)
    # Factors and datasets the final network does not need (directly or through a dataset) go.
    by_name = {f.name: f for f in compiler.factors.values()}
    needed_factors: set[str] = set()
    needed_datasets: set[str] = set()
    stack = [wiring]
    while stack:
        net = stack.pop()
        for node in net.nodes:
            if node.factor in needed_factors:
                continue
            needed_factors.add(node.factor)
            factor = by_name[node.factor]
            if factor.dataset not in needed_datasets:
                needed_datasets.add(factor.dataset)
                ds = compiler.datasets[factor.dataset]
                if ds.wiring is not None:
                    stack.append(ds.wiring)
    factors = [f for f in compiler.factors.values() if f.name in needed_factors]
    datasets = [d for d in compiler.datasets.values() if d.name in needed_datasets or d.name == "D0"]
    return SamplingPlan(
        graph=graph,
        treatment=estimand.treatment,
        outcome=estimand.outcome,
        condition=estimand.condition,
        moved=estimand.moved,
        factors=factors,
        datasets=datasets,
        wiring=wiring,
        estimand_text=str(estimand),
        conditioning=conditioning,
        selected=selected,
        selecting=compile_estimand(estimand, "select", marginals) if conditioning == "auto" and remaining else None,
        marginals=marginals,
        composed=tuple(dict.fromkeys(compiler.composed)),
    )


def compile_plan(
    graph: CausalGraph,
    treatment: str | Sequence[str] | None,
    outcome: str | Sequence[str],
    condition: str | Sequence[str] | None = (),
    conditioning: str = "auto",
    marginals: str = "compose",
) -> SamplingPlan:
    """Compile the ID-GEN (IDC-GEN for conditional queries) sampling plan of a query.

    ``conditioning`` says how the conditions a conditional query keeps are met: ``"select"`` (keep
    the joint draws that match them; discrete conditions), ``"learn"`` (IDC-GEN's extra learned
    stage) or ``"auto"`` (the learner picks selection where every such condition is discrete).
    ``marginals`` says how an S1 marginal of an update's generated dataset given the columns it
    copies is drawn: ``"compose"`` (the update's own factors, nothing trained on the generated
    rows) or ``"learn"`` (a factor trained on them, ID-GEN as published).

    Raises:
        QueryError: for a malformed query or an unknown ``conditioning``.
        NotIdentifiableError: when the query is not identifiable (nothing would be trained).
    """
    conditioning = check_conditioning(conditioning)
    marginals = check_marginals(marginals)
    estimand = identify(graph, treatment, outcome, condition)
    return compile_estimand(estimand, conditioning, marginals)
