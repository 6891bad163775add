"""Classifiers of method.md §5: MLP (one hidden ReLU layer), linear, LeNet-5. All output K logits.

Weights follow Flux's defaults (Glorot-uniform, zero bias) and are drawn from an explicit generator.
"""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """Dense(D→hidden, relu) → Dense(hidden→K); the model of all main results (hidden=32)."""

    def __init__(self, n_features: int, n_classes: int, hidden: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Linear(nn.Module):
    """Dense(D→K): multinomial logistic regression (Fig. 1 / the proposition)."""

    def __init__(self, n_features: int, n_classes: int):
        super().__init__()
        self.net = nn.Linear(n_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LeNet5(nn.Module):
    """LeNet-5 for 28×28 inputs flattened to 784 features (MNIST tuning, method.md §5)."""

    def __init__(self, n_features: int = 784, n_classes: int = 10):
        super().__init__()
        if n_features != 784:
            raise ValueError(f"LeNet5 needs 784 input features (28x28), got {n_features}")
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 7 * 7, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, n_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.reshape(-1, 1, 28, 28)))


def glorot_init_(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Glorot-uniform weights, zero biases (Flux defaults), drawn from `generator`."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear | nn.Conv2d):
                fan_out = (
                    module.weight.shape[0] * module.weight[0, 0].numel()
                    if module.weight.dim() > 2
                    else module.weight.shape[0]
                )
                fan_in = module.weight[0].numel()
                bound = (6.0 / (fan_in + fan_out)) ** 0.5
                module.weight.uniform_(-bound, bound, generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
    return model


def build_model(
    name: str, n_features: int, n_classes: int, *, hidden: int = 32, seed: int = 0
) -> nn.Module:
    """Build and initialise a model by name (`mlp`, `linear`, `lenet5`) from `seed`."""
    if name == "mlp":
        model: nn.Module = MLP(n_features, n_classes, hidden)
    elif name == "linear":
        model = Linear(n_features, n_classes)
    elif name == "lenet5":
        model = LeNet5(n_features, n_classes)
    else:
        raise ValueError(f"unknown model {name!r}: use one of mlp, linear, lenet5")
    return glorot_init_(model, torch.Generator().manual_seed(seed))
