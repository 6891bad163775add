"""Hand values of the CT loss (method.md §1) on a linear model with hand-made CT items.

Every expected value is computed here from the weights W, b directly (logits = x Wᵀ + b), never by
calling the code under test.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cftrain.objective import OBJECTIVES, LossWeights, ct_loss


class Lin(nn.Module):
    """Logits x Wᵀ + b with fixed hand-chosen parameters (K = 3 classes, d = 2 features)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.25]]))
        self.bias = nn.Parameter(torch.tensor([0.1, -0.2, 0.3]))

    def forward(self, x):
        return x @ self.weight.T + self.bias


X = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
Y = torch.tensor([0, 2])
ITEMS = {
    "counterfactual": torch.tensor([[1.0, 2.0], [-1.0, 0.5]]),
    "neighbour": torch.tensor([[0.0, 3.0], [2.0, -1.0]]),
    "target": torch.tensor([1, 0]),
    "adversarial": torch.tensor([[0.5, 0.5], [-0.5, 1.0]]),
    "label": torch.tensor([2, 1]),  # the factuals' true labels, ≠ target
}


def _hand_terms():
    """Per-item logits written out: logit_k(x) = W[k]·x + b[k]."""
    w, b = Lin().weight.detach(), Lin().bias.detach()

    def logit(x, k):
        return float(w[k, 0] * x[0] + w[k, 1] * x[1] + b[k])

    def ce(x, k):
        z = [logit(x, j) for j in range(3)]
        return float(torch.logsumexp(torch.tensor(z), 0)) - z[k]

    cf, nb, tg = ITEMS["counterfactual"], ITEMS["neighbour"], ITEMS["target"].tolist()
    # cf0 = (1,2), target 1: 0.5+2-0.2 = 2.3; nb0 = (0,3): 3-0.2 = 2.8
    # cf1 = (-1,.5), target 0: -1-1+0.1 = -1.9; nb1 = (2,-1): 2+2+0.1 = 4.1
    m_cf = [logit(cf[i], tg[i]) for i in range(2)]
    m_nb = [logit(nb[i], tg[i]) for i in range(2)]
    assert m_cf == pytest.approx([2.3, -1.9]) and m_nb == pytest.approx([2.8, 4.1])
    div = ((m_cf[0] - m_nb[0]) + (m_cf[1] - m_nb[1])) / 2  # mean[E(x⁺) − E(x′)]
    reg = (m_nb[0] ** 2 + m_cf[0] ** 2 + m_nb[1] ** 2 + m_cf[1] ** 2) / 2
    adv_items = ITEMS["adversarial"]
    adv = (ce(adv_items[0], 2) + ce(adv_items[1], 1)) / 2
    clf = (ce(X[0], 0) + ce(X[1], 2)) / 2
    return {"clf": clf, "div": div, "reg": reg, "adv": adv}


def test_hand_terms_are_what_they_claim():
    t = _hand_terms()
    assert t["div"] == pytest.approx(((2.3 - 2.8) + (-1.9 - 4.1)) / 2)  # = -3.25
    assert t["reg"] == pytest.approx((2.8**2 + 2.3**2 + 4.1**2 + 1.9**2) / 2)


@pytest.mark.parametrize("clf", [0.7, 1.0, 2.0])
def test_each_term_and_weighted_total(clf):
    hand = _hand_terms()
    weights = LossWeights(clf=clf, div=0.5, reg=0.1, adv=0.25)
    loss, terms = ct_loss(Lin(), X, Y, weights, ITEMS)
    for k in ("clf", "div", "reg", "adv"):
        assert terms[k] == pytest.approx(hand[k], rel=1e-6), k
    total = clf * hand["clf"] + 0.5 * hand["div"] + 0.1 * hand["reg"] + 0.25 * hand["adv"]
    assert float(loss.detach()) == pytest.approx(total, rel=1e-6)


def test_adversarial_term_uses_true_label_not_target():
    hand = _hand_terms()
    # Against the target the value differs: the test would catch a swapped label.
    ce_target = float(F.cross_entropy(Lin()(ITEMS["adversarial"]), ITEMS["target"]))
    assert abs(ce_target - hand["adv"]) > 0.1
    _, terms = ct_loss(Lin(), X, Y, LossWeights(clf=1.0, div=0.0, reg=0.0, adv=1.0), ITEMS)
    assert terms["adv"] == pytest.approx(hand["adv"], rel=1e-6)
    assert set(terms) == {"clf", "adv"}


@pytest.mark.parametrize("term", ["div", "reg", "adv"])
def test_each_term_gradient_alone(term):
    """With λ_clf = 0 and only one CT weight on, ∂L/∂W is that term's hand gradient."""
    lam = 0.3
    w = {"div": 0.0, "reg": 0.0, "adv": 0.0, term: lam}
    model = Lin()
    loss, _ = ct_loss(model, X, Y, LossWeights(clf=0.0, **w), ITEMS)
    loss.backward()
    cf, nb, tg = ITEMS["counterfactual"], ITEMS["neighbour"], ITEMS["target"]
    expect_w = torch.zeros(3, 2)
    expect_b = torch.zeros(3)
    with torch.no_grad():
        for i in range(2):
            k = int(tg[i])
            m_cf = float(Lin()(cf[i : i + 1])[0, k])
            m_nb = float(Lin()(nb[i : i + 1])[0, k])
            if term == "div":  # ∂(M(x′)[k] − M(x⁺)[k])/∂W[k] = x′ − x⁺; b cancels
                expect_w[k] += (cf[i] - nb[i]) / 2
            elif term == "reg":  # ∂(M(x⁺)² + M(x′)²)/∂W[k] = 2M(x⁺)x⁺ + 2M(x′)x′
                expect_w[k] += (2 * m_nb * nb[i] + 2 * m_cf * cf[i]) / 2
                expect_b[k] += (2 * m_nb + 2 * m_cf) / 2
            else:  # CE gradient wrt logits: softmax − onehot(true label)
                xa, yl = ITEMS["adversarial"][i], int(ITEMS["label"][i])
                p = torch.softmax(Lin()(xa[None])[0], 0)
                g = p - F.one_hot(torch.tensor(yl), 3).float()
                expect_w += torch.outer(g, xa) / 2
                expect_b += g / 2
    torch.testing.assert_close(model.weight.grad, lam * expect_w, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.bias.grad, lam * expect_b, rtol=1e-5, atol=1e-6)


def test_no_items_or_empty_items_give_clf_only():
    hand = _hand_terms()
    empty = {k: v[:0] for k, v in ITEMS.items()}
    for items in (None, empty):
        loss, terms = ct_loss(Lin(), X, Y, LossWeights(), items)
        assert terms == pytest.approx({"clf": hand["clf"]})
        assert float(loss.detach()) == pytest.approx(hand["clf"], rel=1e-6)


def test_objective_to_weights():
    args = dict(clf=1.0, div=0.5, reg=0.25, adv=0.125)
    expected = {
        "vanilla": (1.0, 0.0, 0.0, 0.0),
        "full": (1.0, 0.5, 0.25, 0.125),
        "energy": (1.0, 0.5, 0.25, 0.0),
        "adversarial": (1.0, 0.0, 0.0, 0.125),
        # Objectives with their own batch loss (cftrain.baselines): no CT term, no CE search.
        "pgd_at": (1.0, 0.0, 0.0, 0.0),
        "jem": (1.0, 0.0, 0.0, 0.0),
    }
    assert set(OBJECTIVES) == set(expected)
    for objective, want in expected.items():
        w = LossWeights.for_objective(objective, **args)
        assert (w.clf, w.div, w.reg, w.adv) == want, objective
        assert w.needs_counterfactuals == (want[1:] != (0.0, 0.0, 0.0))
        assert (OBJECTIVES[objective].batch_loss is None) == (objective not in ("pgd_at", "jem"))
    with pytest.raises(ValueError, match="unknown objective"):
        LossWeights.for_objective("bogus", **args)
    assert LossWeights() == LossWeights(1.0, 0.5, 0.1, 0.25)  # package defaults, method.md §1


def test_single_ct_item_is_used():
    """One item in the batch (n_b = 1): every CT term is that item's value."""
    one = {k: v[:1] for k, v in ITEMS.items()}
    _, terms = ct_loss(Lin(), X, Y, LossWeights(div=1.0, reg=1.0, adv=1.0), one)
    assert terms["div"] == pytest.approx(2.3 - 2.8, rel=1e-6)  # M(x′)[1] − M(x⁺)[1], item 0
    assert terms["reg"] == pytest.approx(2.8**2 + 2.3**2, rel=1e-6)
    expected_adv = float(F.cross_entropy(Lin()(one["adversarial"]), one["label"]))
    assert terms["adv"] == pytest.approx(expected_adv, rel=1e-6)
