import Foundation
import TensorCore

/// An output distribution of an autoregressive model: the network predicts its parameters
/// per time step ([B, C, T]); training maximises `logLikelihood`, generation draws `sample`.
public protocol OutputDistribution {
    /// Channels of parameters per time step.
    var parameterChannels: Int { get }
    /// log p(y) per sample: params [B, C, T], y [B, T] (audio in [-1, 1] or class indices) → [B, T].
    func logLikelihood(_ params: Tensor, _ y: Tensor) -> Tensor
    /// One draw per (batch, step): params [B, C, T] → [B, T]; `temperature` < 1 sharpens.
    func sample(_ params: Tensor, temperature: Float, using g: inout RandomGenerator) -> Tensor
}

/// A softmax over `classes` (256 μ-law classes in WaveNet, §2.2); y holds class indices.
public struct Categorical: OutputDistribution {
    public let classes: Int
    public init(classes: Int = 256) { self.classes = classes }
    public var parameterChannels: Int { classes }

    public func logLikelihood(_ logits: Tensor, _ y: Tensor) -> Tensor {
        logits.logSoftmax(axis: 1).gathered(axis: 1, indices: y.unsqueezed(axis: 1)).squeezed(axis: 1)
    }

    public func sample(_ logits: Tensor, temperature: Float, using g: inout RandomGenerator) -> Tensor {
        let (b, c, t) = (logits.shape[0], logits.shape[1], logits.shape[2])
        let flat = logits.detached().permuted([0, 2, 1]).reshaped([b * t, c])
        return Tensor.randomCategorical(logits: flat, temperature: temperature, using: &g).reshaped([b, t])
    }
}

/// The discretized mixture of logistics (Salimans et al. 2017, PixelCNN++ §2.1), as
/// r9y9/wavenet_vocoder uses it: channels ordered [logits | means | log-scales] of K
/// components each, log-scales clamped at `logScaleMin`, y in [-1, 1] on a grid of
/// `numClasses` levels; the edge bins take the whole tail.
public struct DiscretizedMixtureOfLogistics: OutputDistribution {
    public let components: Int
    public let numClasses: Int
    public let logScaleMin: Float

    public init(components: Int = 10, numClasses: Int = 65536, logScaleMin: Float = -7) {
        self.components = components; self.numClasses = numClasses; self.logScaleMin = logScaleMin
    }
    public var parameterChannels: Int { 3 * components }

    public func logLikelihood(_ params: Tensor, _ y: Tensor) -> Tensor {
        let k = components
        precondition(params.shape[1] == 3 * k, "DiscretizedMixtureOfLogistics: expected \(3 * k) channels, got \(params.shape)")
        let logits = params.sliced(axis: 1, end: k)                       // [B, K, T]
        let means = params.sliced(axis: 1, start: k, end: 2 * k)
        let logScales = params.sliced(axis: 1, start: 2 * k).clamped(min: logScaleMin)
        let yb = y.unsqueezed(axis: 1)                                     // [B, 1, T]
        let centered = yb - means
        let invStd = (-logScales).exp()
        let halfBin = 1 / Float(numClasses - 1)
        let plusIn = invStd * (centered + halfBin)
        let minIn = invStd * (centered - halfBin)
        let cdfDelta = plusIn.sigmoid() - minIn.sigmoid()
        let logCdfPlus = plusIn - plusIn.softplus()                        // log σ(plusIn): the lowest bin
        let logOneMinusCdfMin = -minIn.softplus()                          // log(1 − σ(minIn)): the highest bin
        let midIn = invStd * centered
        // Where the bin's probability underflows, the density at its centre times its width.
        let logPdfMid = midIn - logScales - midIn.softplus() * 2 - Float(Foundation.log(Double(numClasses - 1) / 2))
        let interior = Tensor.select(cdfDelta.detached() > 1e-5, cdfDelta.clamped(min: 1e-12).log(), logPdfMid)
        let upper = Tensor.select((yb > 0.999).expandedView(like: interior), logOneMinusCdfMin, interior)
        let logProbs = Tensor.select((yb < -0.999).expandedView(like: upper), logCdfPlus, upper) + logits.logSoftmax(axis: 1)
        return logProbs.logSumExp(axis: 1)                                 // [B, T]
    }

    public func sample(_ params: Tensor, temperature: Float, using g: inout RandomGenerator) -> Tensor {
        let k = components
        let p = params.detached()
        let (b, t) = (p.shape[0], p.shape[2])
        // Component by the Gumbel-max trick on logits / temperature.
        let logits = p.sliced(axis: 1, end: k) / Swift.max(temperature, 1e-6)
        let u = Tensor.randomUniform(logits.shape, low: 1e-5, high: 1 - 1e-5, using: &g)
        let choice = (logits - (-(u.log())).log()).argmax(axis: 1, keepDims: true)      // [B, 1, T]
        let mean = p.sliced(axis: 1, start: k, end: 2 * k).gathered(axis: 1, indices: choice).reshaped([b, t])
        let logScale = p.sliced(axis: 1, start: 2 * k).gathered(axis: 1, indices: choice).reshaped([b, t]).clamped(min: logScaleMin)
        let v = Tensor.randomUniform([b, t], low: 1e-5, high: 1 - 1e-5, using: &g)
        let x = mean + logScale.exp() * (v.log() - (1 - v).log()) * temperature
        return x.clamped(min: -1, max: 1)
    }
}

/// A single Gaussian per step: channels [mean, log σ], log σ clamped at `logScaleMin`
/// (r9y9's `log_scale_min_gauss`); samples are clamped to [−1, 1] as r9y9's are.
public struct GaussianOutput: OutputDistribution {
    public let logScaleMin: Float
    public init(logScaleMin: Float = -7) { self.logScaleMin = logScaleMin }
    public var parameterChannels: Int { 2 }

    public func logLikelihood(_ params: Tensor, _ y: Tensor) -> Tensor {
        let mean = params.sliced(axis: 1, end: 1).squeezed(axis: 1)
        let logStd = params.sliced(axis: 1, start: 1, end: 2).squeezed(axis: 1).clamped(min: logScaleMin)
        return -((y - mean) / logStd.exp()).square() * 0.5 - logStd - Float(0.5 * Foundation.log(2 * Double.pi))
    }

    public func sample(_ params: Tensor, temperature: Float, using g: inout RandomGenerator) -> Tensor {
        let p = params.detached()
        let mean = p.sliced(axis: 1, end: 1).squeezed(axis: 1)
        let logStd = p.sliced(axis: 1, start: 1, end: 2).squeezed(axis: 1).clamped(min: logScaleMin)
        return (mean + logStd.exp() * Tensor.randomNormal(mean.shape, using: &g) * temperature).clamped(min: -1, max: 1)
    }
}

extension Tensor {
    /// A mask broadcast to another tensor's shape (no gradient).
    func expandedView(like other: Tensor) -> Tensor { expanded(to: other.shape).detached() }
}
