import Foundation
import TensorCore

/// Losses with PyTorch's definitions and default (mean) reductions, composed from
/// differentiable ops.
public enum Loss {
    /// mean((x − t)²) (`F.mse_loss`).
    public static func mse(_ x: Tensor, _ target: Tensor) -> Tensor { (x - target).square().mean() }

    /// mean(|x − t|) (`F.l1_loss`).
    public static func l1(_ x: Tensor, _ target: Tensor) -> Tensor { (x - target).abs().mean() }

    /// Cross-entropy of `logits` [N, C, ...] against integral class `targets` [N, ...]
    /// (`F.cross_entropy`), with optional label smoothing ε: (1−ε)·NLL + ε·mean_c(−log p_c).
    public static func crossEntropy(logits: Tensor, targets: Tensor, labelSmoothing: Float = 0) -> Tensor {
        precondition(logits.rank == targets.rank + 1, "crossEntropy: logits \(logits.shape) need one more axis than targets \(targets.shape)")
        let logP = logits.logSoftmax(axis: 1)
        let nll = -logP.gathered(axis: 1, indices: targets.unsqueezed(axis: 1)).squeezed(axis: 1)
        guard labelSmoothing > 0 else { return nll.mean() }
        let uniform = -logP.mean(axis: 1)
        return (nll * (1 - labelSmoothing) + uniform * labelSmoothing).mean()
    }

    /// Binary cross-entropy on logits, computed stably (`F.binary_cross_entropy_with_logits`):
    /// max(x, 0) − x·t + log(1 + e^(−|x|)).
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, _ targets: Tensor) -> Tensor {
        (logits.relu() - logits * targets + (-logits.abs()).exp().log1p()).mean()
    }

    /// Gaussian negative log-likelihood (`F.gaussian_nll_loss`): ½(log v + (x − t)²/v), the
    /// variance clamped at `eps`; `full` adds ½ log 2π.
    public static func gaussianNLL(mean: Tensor, target: Tensor, variance: Tensor, full: Bool = false, eps: Float = 1e-6) -> Tensor {
        let v = variance.clamped(min: eps)
        var loss = (v.log() + (mean - target).square() / v) * 0.5
        if full { loss = loss + Float(0.5 * Foundation.log(2 * Double.pi)) }
        return loss.mean()
    }

    /// KL(N(μ, e^logvar) ‖ N(0, I)), summed over the last axis and averaged over the rest
    /// (the VAE's regulariser, Kingma & Welling 2014, Appendix B).
    public static func klDiagonalGaussian(mu: Tensor, logVariance: Tensor) -> Tensor {
        ((logVariance.exp() + mu.square() - 1 - logVariance) * 0.5).sum(axis: -1).mean()
    }
}
