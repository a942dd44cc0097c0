"""BatchedLinear, BatchedMLP and SeparateMLPs: shapes, values against a float64 numpy reference of each small
network, that network n depends only on its own slice of the weights and its own inputs, index selection,
initialisation bounds, that SeparateMLPs with copied weights computes what BatchedMLP computes, and bad settings."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from lightning_causal.nets.batched_mlp import CONDITIONING, BatchedLinear, BatchedMLP, SeparateMLPs

# three networks of different true widths, padded to a common width
TRUE_IN, TRUE_COND, TRUE_OUT = [3, 1, 2], [2, 4, 1], [1, 3, 2]
IN_DIM, COND_DIM, OUT_DIM = 3, 4, 3
B = 5


@pytest.fixture(autouse=True)
def _own_global_rng() -> Iterator[None]:
    """The layers initialise from torch's global generator: seed it here and give it back unchanged afterwards."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


def _padded_inputs(seed: int, num: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """x (num, B, IN_DIM) and c (num, B, COND_DIM) with every column past a network's true width zero."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(num, B, IN_DIM, generator=g)
    c = torch.randn(num, B, COND_DIM, generator=g)
    for n in range(num):
        x[n, :, TRUE_IN[n % 3] :] = 0
        c[n, :, TRUE_COND[n % 3] :] = 0
    return x, c


def _mlp(conditioning: str, depth: int = 2, hidden: int = 8) -> BatchedMLP:
    return BatchedMLP(
        3,
        IN_DIM,
        COND_DIM,
        OUT_DIM,
        hidden=hidden,
        depth=depth,
        conditioning=conditioning,
        true_in=TRUE_IN,
        true_cond=TRUE_COND,
    )


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def _silu(a: np.ndarray) -> np.ndarray:
    return a / (1.0 + np.exp(-a))


def _reference(mlp: BatchedMLP, x: torch.Tensor, c: torch.Tensor) -> np.ndarray:
    """Network n by hand in float64, one network at a time, from its own slice of every weight."""
    outs = []
    for n in range(mlp.num):
        xn, cn = _np(x[n]), _np(c[n])

        def layer(module: BatchedLinear, h: np.ndarray, n: int = n) -> np.ndarray:
            return h @ _np(module.weight[n]) + _np(module.bias[n])

        if mlp.conditioning == "concat":
            h = _silu(layer(mlp.input, np.concatenate([xn, cn], axis=1)))
            for hidden in mlp.hidden:
                h = _silu(layer(hidden, h))
        else:
            h = layer(mlp.input, xn)
            width = h.shape[1]
            film = layer(mlp.film, cn)  # gamma_0, beta_0, gamma_1, beta_1, ... each of the hidden width
            for k in range(mlp.depth):
                gamma = film[:, 2 * k * width : (2 * k + 1) * width]
                beta = film[:, (2 * k + 1) * width : (2 * k + 2) * width]
                h = _silu(h * (1 + gamma) + beta)
                if k < mlp.depth - 1:
                    h = layer(mlp.hidden[k], h)
        outs.append(layer(mlp.output, h))
    return np.stack(outs)


# ------------------------------------------------------------------------------------------------- BatchedLinear
def test_batched_linear_applies_map_n_to_slice_n() -> None:
    layer = BatchedLinear(4, 3, 5)
    x = torch.randn(4, 6, 3, generator=torch.Generator().manual_seed(1))
    y = layer(x)
    assert y.shape == (4, 6, 5)
    expected = np.einsum("nbi,nio->nbo", _np(x), _np(layer.weight)) + _np(layer.bias)
    np.testing.assert_allclose(_np(y), expected, atol=1e-5, rtol=1e-5)


def test_batched_linear_with_an_index_uses_the_chosen_maps_in_that_order() -> None:
    layer = BatchedLinear(4, 3, 2)
    x = torch.randn(4, 6, 3, generator=torch.Generator().manual_seed(2))
    full = layer(x)
    index = torch.tensor([2, 0, 2])
    got = layer(x[index], index)
    assert got.shape == (3, 6, 2)
    torch.testing.assert_close(got, full[index])


def test_batched_linear_parameter_shapes_and_repr() -> None:
    layer = BatchedLinear(3, 4, 5)
    assert layer.weight.shape == (3, 4, 5) and layer.bias.shape == (3, 1, 5)
    assert layer.extra_repr() == "num=3, fan_in=4, fan_out=5"


def test_batched_linear_init_is_uniform_within_one_over_root_of_each_true_fan_in() -> None:
    fans = [1, 4, 100, 0]  # 0 counts as 1
    layer = BatchedLinear(4, 32, 64, true_fan_in=fans)
    for n, fan in enumerate(fans):
        bound = 1.0 / np.sqrt(max(fan, 1))
        w, b = layer.weight[n].detach().abs(), layer.bias[n].detach().abs()
        assert float(w.max()) <= bound and float(b.max()) <= bound
        # 2048 and 64 uniform draws come close to the bound (a smaller bound would fail here)
        assert float(w.max()) > 0.95 * bound and float(b.max()) > 0.8 * bound
        assert abs(float(layer.weight[n].detach().mean())) < 0.1 * bound


def test_batched_linear_without_true_fans_uses_the_padded_fan_in() -> None:
    layer = BatchedLinear(2, 16, 64)
    assert float(layer.weight.detach().abs().max()) <= 0.25
    assert float(layer.weight.detach().abs().max()) > 0.24


def test_batched_linear_refuses_a_fan_list_of_the_wrong_length() -> None:
    with pytest.raises(ValueError):
        BatchedLinear(3, 4, 5, true_fan_in=[4])


# -------------------------------------------------------------------------------------------------- BatchedMLP
@pytest.mark.parametrize("conditioning", CONDITIONING)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_batched_mlp_matches_a_numpy_reference_of_each_network(conditioning: str, depth: int) -> None:
    mlp = _mlp(conditioning, depth=depth)
    if conditioning == "film":  # move FiLM away from its near-identity start so the modulation matters
        with torch.no_grad():
            mlp.film.weight.mul_(10.0)
            mlp.film.bias.uniform_(-0.5, 0.5)
    x, c = _padded_inputs(3)
    y = mlp(x, c)
    assert y.shape == (3, B, OUT_DIM)
    np.testing.assert_allclose(_np(y), _reference(mlp, x, c), atol=1e-5, rtol=1e-5)


def test_the_conditionings_are_film_and_concat() -> None:
    assert set(CONDITIONING) == {"film", "concat"}


@pytest.mark.parametrize("conditioning", CONDITIONING)
def test_layer_count_and_widths_follow_depth_and_conditioning(conditioning: str) -> None:
    mlp = _mlp(conditioning, depth=3, hidden=8)
    assert len(mlp.hidden) == 2
    assert mlp.output.weight.shape == (3, 8, OUT_DIM)
    if conditioning == "concat":
        assert mlp.input.weight.shape == (3, IN_DIM + COND_DIM, 8) and not hasattr(mlp, "film")
    else:
        assert mlp.input.weight.shape == (3, IN_DIM, 8)
        assert mlp.film.weight.shape == (3, COND_DIM, 2 * 8 * 3)


def test_film_starts_near_the_identity_modulation() -> None:
    mlp = _mlp("film")
    assert torch.equal(mlp.film.bias, torch.zeros_like(mlp.film.bias))
    for n, fan in enumerate(TRUE_COND):
        assert float(mlp.film.weight[n].detach().abs().max()) <= 0.1 / np.sqrt(fan)
    for n, fan in enumerate(TRUE_IN):
        assert float(mlp.input.weight[n].detach().abs().max()) <= 1 / np.sqrt(fan)


def test_concat_first_layer_is_initialised_for_input_plus_conditioning_width() -> None:
    mlp = BatchedMLP(2, 8, 8, 1, hidden=64, conditioning="concat", true_in=[1, 8], true_cond=[0, 8])
    for n, fan in enumerate([1, 16]):
        w = mlp.input.weight[n].detach().abs()
        assert float(w.max()) <= 1 / np.sqrt(fan) and float(w.max()) > 0.9 / np.sqrt(fan)


@pytest.mark.parametrize("conditioning", CONDITIONING)
def test_network_n_depends_only_on_slice_n_of_every_weight(conditioning: str) -> None:
    mlp = _mlp(conditioning)
    x, c = _padded_inputs(4)
    before = mlp(x, c).detach()
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in mlp.parameters():
            p[1] += torch.randn(p[1].shape, generator=g)
    after = mlp(x, c).detach()
    assert torch.equal(after[0], before[0]) and torch.equal(after[2], before[2])
    assert (after[1] - before[1]).abs().max() > 1e-3


@pytest.mark.parametrize("conditioning", CONDITIONING)
def test_network_n_depends_only_on_its_own_inputs(conditioning: str) -> None:
    mlp = _mlp(conditioning)
    x, c = _padded_inputs(6)
    before = mlp(x, c).detach()
    x2, c2 = x.clone(), c.clone()
    x2[2, :, :2] += 1.0
    c2[2, :, :1] -= 1.0
    after = mlp(x2, c2).detach()
    assert torch.equal(after[:2], before[:2])
    assert (after[2] - before[2]).abs().max() > 1e-4


@pytest.mark.parametrize("conditioning", CONDITIONING)
def test_gradients_of_network_n_reach_only_slice_n(conditioning: str) -> None:
    mlp = _mlp(conditioning)
    x, c = _padded_inputs(7)
    mlp(x, c)[0].pow(2).sum().backward()
    for name, p in mlp.named_parameters():
        assert p.grad is not None, name
        assert p.grad[1:].abs().max() == 0, name
        assert p.grad[0].abs().max() > 0, name


def test_padded_input_columns_give_their_weights_no_gradient() -> None:
    mlp = _mlp("film")
    x, c = _padded_inputs(8)
    mlp(x, c).sum().backward()
    for n in range(3):
        assert mlp.input.weight.grad is not None and mlp.film.weight.grad is not None
        assert torch.count_nonzero(mlp.input.weight.grad[n, TRUE_IN[n] :]) == 0
        assert mlp.input.weight.grad[n, : TRUE_IN[n]].abs().max() > 0
        assert torch.count_nonzero(mlp.film.weight.grad[n, TRUE_COND[n] :]) == 0
        assert mlp.film.weight.grad[n, : TRUE_COND[n]].abs().max() > 0


@pytest.mark.parametrize("conditioning", CONDITIONING)
def test_an_index_runs_the_chosen_networks_in_that_order(conditioning: str) -> None:
    mlp = _mlp(conditioning, depth=3)
    x, c = _padded_inputs(9)
    full = mlp(x, c)
    index = torch.tensor([2, 0, 2])
    got = mlp(x[index], c[index], index)
    assert got.shape == (3, B, OUT_DIM)
    torch.testing.assert_close(got, full[index])
    torch.testing.assert_close(mlp(x[1:2], c[1:2], torch.tensor([1])), full[1:2])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"conditioning": "attention"}, r"^unknown conditioning 'attention'; choose one of film, concat$"),
        ({"conditioning": "FiLM"}, r"^unknown conditioning 'FiLM'"),
        ({"depth": 0}, r"^depth must be at least 1, got 0$"),
        ({"depth": -2}, r"^depth must be at least 1, got -2$"),
    ],
)
def test_bad_conditioning_or_depth_is_one_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        BatchedMLP(2, 3, 2, 1, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------------- SeparateMLPs
def _copy_batched_into_separate(big: BatchedMLP, separate: SeparateMLPs) -> None:
    """Give separate network n the true-width part of slice n of every batched weight."""
    with torch.no_grad():
        for n, (net, (i, c, o)) in enumerate(zip(separate.nets, separate.widths, strict=True)):
            assert isinstance(net, BatchedMLP)
            if big.conditioning == "concat":
                rows = list(range(i)) + list(range(IN_DIM, IN_DIM + c))
                net.input.weight[0] = big.input.weight[n][rows]
            else:
                net.input.weight[0] = big.input.weight[n][:i]
                net.film.weight[0] = big.film.weight[n][:c]
                net.film.bias[0] = big.film.bias[n]
            net.input.bias[0] = big.input.bias[n]
            for small, large in zip(net.hidden, big.hidden, strict=True):
                small.weight[0] = large.weight[n]
                small.bias[0] = large.bias[n]
            net.output.weight[0] = big.output.weight[n][:, :o]
            net.output.bias[0] = big.output.bias[n][:, :o]


def test_separate_mlps_hold_one_network_per_node_at_its_true_widths() -> None:
    separate = SeparateMLPs(TRUE_IN, TRUE_COND, TRUE_OUT, OUT_DIM, hidden=8, depth=2, conditioning="film")
    assert len(separate.nets) == 3 and separate.widths == list(zip(TRUE_IN, TRUE_COND, TRUE_OUT, strict=True))
    for net, i, c, o in zip(separate.nets, TRUE_IN, TRUE_COND, TRUE_OUT, strict=True):
        assert isinstance(net, BatchedMLP) and net.num == 1
        assert net.input.weight.shape == (1, i, 8) and net.film.weight.shape == (1, c, 2 * 8 * 2)
        assert net.output.weight.shape == (1, 8, o)


@pytest.mark.parametrize("conditioning", CONDITIONING)
@pytest.mark.parametrize("depth", [1, 3])
def test_separate_mlps_with_copied_weights_compute_what_batched_mlp_computes(conditioning: str, depth: int) -> None:
    big = _mlp(conditioning, depth=depth)
    if conditioning == "film":
        with torch.no_grad():
            big.film.weight.mul_(10.0)
            big.film.bias.uniform_(-0.5, 0.5)
    separate = SeparateMLPs(TRUE_IN, TRUE_COND, TRUE_OUT, OUT_DIM, hidden=8, depth=depth, conditioning=conditioning)
    _copy_batched_into_separate(big, separate)
    x, c = _padded_inputs(10)
    want, got = big(x, c), separate(x, c)
    assert got.shape == want.shape == (3, B, OUT_DIM)
    for n, o in enumerate(TRUE_OUT):
        torch.testing.assert_close(got[n, :, :o], want[n, :, :o], rtol=1e-5, atol=1e-6)
        assert torch.equal(got[n, :, o:], torch.zeros(B, OUT_DIM - o))  # padded outputs are zero
    index = torch.tensor([2, 1])
    got_index = separate(x[index], c[index], index)
    for k, n in enumerate(index.tolist()):
        o = TRUE_OUT[n]
        torch.testing.assert_close(got_index[k, :, :o], want[n, :, :o], rtol=1e-5, atol=1e-6)


def test_separate_mlps_ignore_whatever_lies_in_the_padding() -> None:
    separate = SeparateMLPs(TRUE_IN, TRUE_COND, TRUE_OUT, OUT_DIM, hidden=8, depth=2, conditioning="concat")
    x, c = _padded_inputs(11)
    clean = separate(x, c)
    noisy_x, noisy_c = x.clone(), c.clone()
    for n in range(3):
        noisy_x[n, :, TRUE_IN[n] :] = 7.0
        noisy_c[n, :, TRUE_COND[n] :] = -7.0
    torch.testing.assert_close(separate(noisy_x, noisy_c), clean)


def test_separate_mlps_refuse_width_lists_of_different_lengths() -> None:
    with pytest.raises(ValueError):
        SeparateMLPs([1, 2], [1], [1, 1], 1)
