"""DCMMechanisms: batched and separate banks agree, gradients stay within each node."""

from __future__ import annotations

import warnings

import pytest
import torch

from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models.dcm import DCMMechanisms
from lightning_causal.nets import BatchedLinear, BatchedMLP
from tests.models.dcm.common import MIXED, MIXED_VARS, mixed_batch

warnings.filterwarnings("ignore", ".*does not have many workers.*")
warnings.filterwarnings("ignore", ".*isinstance.*LeafSpec.*")


def _copy_into_separate(batched: DCMMechanisms, separate: DCMMechanisms) -> None:
    """Give every separate per-node MLP the weights of its slice of the batched bank."""
    diffusion, classifier = batched.banks["diffusion"], batched.banks["classifier"]
    pairs = [
        (diffusion.denoiser, separate.banks["diffusion"].denoiser),
        (classifier.classifier, separate.banks["classifier"].classifier),
    ]
    for bank, nets in pairs:
        assert isinstance(bank, BatchedMLP)
        for k, net in enumerate(nets.nets):  # type: ignore[union-attr]
            for (name, big), (_, small) in zip(bank.named_modules(), net.named_modules(), strict=True):
                if isinstance(big, BatchedLinear):
                    assert isinstance(small, BatchedLinear), name
                    fan_in, fan_out = small.weight.shape[1:]
                    with torch.no_grad():
                        if name == "input" and bank.conditioning == "concat" and bank is diffusion.denoiser:
                            # concat input rows: [x (padded), cond (padded)] -> [x (true), cond (true)]
                            d_pad = diffusion.target.shape[1]
                            true_x = int(diffusion.mask[k].sum())
                            rows = list(range(true_x)) + list(range(d_pad, d_pad + fan_in - true_x))
                            small.weight[0] = big.weight[k][rows, :fan_out]
                        else:
                            small.weight[0] = big.weight[k][:fan_in, :fan_out]
                        small.bias[0] = big.bias[k][:, :fan_out]


@pytest.mark.parametrize("conditioning", ["film", "concat"])
def test_batched_and_separate_backends_compute_the_same_losses(conditioning: str) -> None:
    torch.manual_seed(0)
    batched = DCMMechanisms(MIXED, MIXED_VARS, MechanismConfig(conditioning=conditioning, hidden=16, roots="model"))
    separate = DCMMechanisms(
        MIXED, MIXED_VARS, MechanismConfig(conditioning=conditioning, hidden=16, roots="model", backend="separate")
    )
    _copy_into_separate(batched, separate)
    batch = mixed_batch()
    a = batched.loss_vector(batch, torch.Generator().manual_seed(5))
    b = separate.loss_vector(batch, torch.Generator().manual_seed(5))
    assert batched.trained == separate.trained == ["a", "c", "d", "b", "e"]
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_each_node_gets_gradient_only_from_its_own_loss_and_every_parameter_gets_one() -> None:
    torch.manual_seed(0)
    net = DCMMechanisms(MIXED, MIXED_VARS, MechanismConfig(hidden=16))
    losses = net.loss_vector(mixed_batch(), torch.Generator().manual_seed(1))
    losses.sum().backward()
    for p in net.parameters():  # DDP without find_unused_parameters needs this
        assert p.grad is not None and p.grad.abs().sum() > 0
    net.zero_grad()
    diffusion = net.banks["diffusion"]
    k = diffusion.entries.index("d")
    net.loss_vector(mixed_batch(), torch.Generator().manual_seed(1))[k].backward()
    assert isinstance(diffusion.denoiser, BatchedMLP)
    grads = diffusion.denoiser.output.weight.grad
    assert grads is not None
    others = [i for i in range(len(diffusion.entries)) if i != k]
    assert grads[k].abs().sum() > 0 and grads[others].abs().sum() == 0
