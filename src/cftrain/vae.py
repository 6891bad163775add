"""The VAE that REVISE searches in (method.md §3, CE.jl VAE; `dev/train_vae.jl`).

Encoder Dense(D,h,σ) → (μ, logσ) Dense(h,L); decoder Dense(L,h,tanh) → Dense(h,D). Loss: summed MSE / n
+ KL + 0.01·‖decoder weights‖²; Adam 1e-3, batch 50, 100 epochs. 2-D data: L=2, h=16; otherwise L=4, h=32.
"""

from __future__ import annotations

import torch
from torch import nn

from cftrain.models import glorot_init_


class VAE(nn.Module):
    def __init__(self, n_features: int, latent_dim: int = 4, hidden: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Linear(n_features, hidden), nn.Sigmoid())
        self.mu = nn.Linear(hidden, latent_dim)
        self.log_sigma = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.Tanh(), nn.Linear(hidden, n_features)
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.mu(h), self.log_sigma(h)

    def encode_sample(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """A random draw z = μ + σ·ε (the stochastic encoding REVISE re-draws every step)."""
        mu, log_sigma = self.encode(x)
        noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + torch.exp(log_sigma) * noise

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


def vae_size(n_features: int) -> tuple[int, int]:
    """(latent_dim, hidden): 2-D data L=2, h=16; everything else L=4, h=32 (method.md §3)."""
    return (2, 16) if n_features == 2 else (4, 32)


def train_vae(
    x: torch.Tensor, *, seed: int, epochs: int = 100, batch_size: int = 50, lr: float = 1e-3
) -> tuple[VAE, list[float]]:
    """Train a VAE on the training split; returns the model and the mean loss per epoch."""
    gen = torch.Generator().manual_seed(seed)
    latent, hidden = vae_size(x.shape[1])
    vae = glorot_init_(VAE(x.shape[1], latent, hidden), gen)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    n = x.shape[0]
    history = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            xb = x[order[start : start + batch_size]]
            mu, log_sigma = vae.encode(xb)
            z = mu + torch.exp(log_sigma) * torch.randn(mu.shape, generator=gen)
            recon = vae.decode(z)
            mse = ((recon - xb) ** 2).sum() / xb.shape[0]
            kl = 0.5 * (torch.exp(2 * log_sigma) + mu**2 - 1 - 2 * log_sigma).sum() / xb.shape[0]
            reg = 0.01 * sum(
                (p**2).sum() for name, p in vae.decoder.named_parameters() if "weight" in name
            )
            loss = mse + kl + reg
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * xb.shape[0]
        history.append(total / n)
    return vae, history
