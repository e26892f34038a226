import Foundation
import TensorCore

/// Per-parameter state that a training checkpoint saves, by "<slot>.<parameter key>".
public protocol Optimizer: AnyObject {
    /// The learning rate of the next step (schedules set it).
    var learningRate: Float { get set }
    /// Number of steps taken.
    var stepCount: Int { get }
    /// Updates every parameter that has a gradient, inside `withoutGradient`.
    func step()
    /// The state tensors by key, for checkpoints.
    func stateDict() -> [String: Tensor]
    /// Restores state saved by `stateDict()`.
    func load(_ state: [String: Tensor]) throws
}

/// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay, as
/// `torch.optim.SGD` (dampening 0).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, nesterov: Bool, weightDecay: Float
    public private(set) var stepCount = 0
    let parameters: [(key: String, parameter: Parameter)]
    var velocity: [String: Tensor] = [:]

    public init(_ parameters: [(key: String, parameter: Parameter)], learningRate: Float, momentum: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0) {
        self.parameters = parameters.filter { !$0.parameter.isFrozen }
        self.learningRate = learningRate; self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay
    }

    public func step() {
        withoutGradient {
            for (key, p) in parameters {
                guard var g = p.grad else { continue }
                let w = p.value.detached()
                if weightDecay != 0 { g = g + w * weightDecay }
                if momentum != 0 {
                    let buf = velocity[key].map { $0 * momentum + g } ?? g
                    velocity[key] = buf
                    g = nesterov ? g + buf * momentum : buf
                }
                p.value = w - g * learningRate
            }
        }
        stepCount += 1
    }

    public func stateDict() -> [String: Tensor] {
        var d = ["step": Tensor(Float(stepCount))]
        for (k, v) in velocity { d["momentum_buffer.\(k)"] = v }
        return d
    }

    public func load(_ state: [String: Tensor]) throws {
        stepCount = Int(state["step"]?.item ?? 0)
        velocity = [:]
        for (key, _) in parameters { velocity[key] = state["momentum_buffer.\(key)"] }
    }
}

/// Adam (Kingma & Ba 2015, Algorithm 1) with bias correction, L2 weight decay and AMSGrad,
/// as `torch.optim.Adam`; with `decoupledWeightDecay` it is AdamW (Loshchilov & Hutter 2019),
/// as `torch.optim.AdamW`.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public let amsgrad: Bool, decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    let parameters: [(key: String, parameter: Parameter)]
    var m: [String: Tensor] = [:], v: [String: Tensor] = [:], vMax: [String: Tensor] = [:]

    public init(_ parameters: [(key: String, parameter: Parameter)], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                eps: Float = 1e-8, weightDecay: Float = 0, amsgrad: Bool = false, decoupledWeightDecay: Bool = false) {
        self.parameters = parameters.filter { !$0.parameter.isFrozen }
        self.learningRate = learningRate; beta1 = betas.0; beta2 = betas.1; self.eps = eps
        self.weightDecay = weightDecay; self.amsgrad = amsgrad; self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW: Adam with weight decay applied to the weights directly (default decay 0.01 as PyTorch).
    public static func adamW(_ parameters: [(key: String, parameter: Parameter)], learningRate: Float = 1e-3,
                             betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 0.01,
                             amsgrad: Bool = false) -> Adam {
        Adam(parameters, learningRate: learningRate, betas: betas, eps: eps, weightDecay: weightDecay,
             amsgrad: amsgrad, decoupledWeightDecay: true)
    }

    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = Float(1 - Foundation.pow(Double(beta1), t)), bc2 = Float(1 - Foundation.pow(Double(beta2), t))
        withoutGradient {
            for (key, p) in parameters {
                guard var g = p.grad else { continue }
                var w = p.value.detached()
                if weightDecay != 0 {
                    if decoupledWeightDecay { w = w * (1 - learningRate * weightDecay) } else { g = g + w * weightDecay }
                }
                let mt = (m[key] ?? Tensor.zeros(g.shape)) * beta1 + g * (1 - beta1)
                let vt = (v[key] ?? Tensor.zeros(g.shape)) * beta2 + g.square() * (1 - beta2)
                m[key] = mt; v[key] = vt
                var second = vt
                if amsgrad {
                    second = vMax[key].map { $0.maximum(vt) } ?? vt
                    vMax[key] = second
                }
                let denom = second.sqrt() / bc2.squareRoot() + eps
                p.value = w - mt / denom * (learningRate / bc1)
            }
        }
    }

    public func stateDict() -> [String: Tensor] {
        var d = ["step": Tensor(Float(stepCount))]
        for (k, x) in m { d["exp_avg.\(k)"] = x }
        for (k, x) in v { d["exp_avg_sq.\(k)"] = x }
        for (k, x) in vMax { d["max_exp_avg_sq.\(k)"] = x }
        return d
    }

    public func load(_ state: [String: Tensor]) throws {
        stepCount = Int(state["step"]?.item ?? 0)
        m = [:]; v = [:]; vMax = [:]
        for (key, p) in parameters {
            for (slot, store) in [("exp_avg", 0), ("exp_avg_sq", 1), ("max_exp_avg_sq", 2)] {
                guard let x = state["\(slot).\(key)"] else { continue }
                guard x.shape == p.shape else {
                    throw NNError.invalidConfig("optimizer state \(slot).\(key) has shape \(x.shape) but the parameter is \(p.shape)")
                }
                switch store { case 0: m[key] = x; case 1: v[key] = x; default: vMax[key] = x }
            }
        }
    }
}

/// The global L2 norm of the parameters' gradients (NaN or infinity when one of them is).
public func gradientNorm(_ parameters: [Parameter]) -> Float {
    withoutGradient { parameters.compactMap(\.grad).reduce(Float(0)) { $0 + $1.square().sum().item }.squareRoot() }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (`clip_grad_norm_`);
/// returns the norm before clipping. `norm`: that norm, when already computed.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float, norm: Float? = nil) -> Float {
    withoutGradient {
        let total = norm ?? gradientNorm(parameters)
        let scale = maxNorm / (total + 1e-6)
        if scale < 1 { for p in parameters { p.grad = p.grad.map { $0 * scale } } }
        return total
    }
}

/// Learning-rate schedules, as functions of the step (0-based), matching PyTorch's schedulers.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    case constant
    /// × gamma every `stepSize` steps (`StepLR`).
    case step(stepSize: Int, gamma: Float)
    /// × gamma every step (`ExponentialLR`).
    case exponential(gamma: Float)
    /// Half a cosine from the base rate to `minimum` over `period` steps (`CosineAnnealingLR`).
    case cosine(period: Int, minimum: Float)
    /// Linear warm-up to the base rate over `steps` steps: base · min(1, (t + 1) / steps).
    case linearWarmup(steps: Int)

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let names = "constant, step {step_size, gamma}, exponential {gamma}, cosine {period, minimum} or linear_warmup {steps}"
    /// Each schedule's parameter names, in both spellings.
    private static let parameters: [String: Set<String>] = [
        "constant": [], "step": ["step_size", "stepSize", "gamma"], "exponential": ["gamma"],
        "cosine": ["period", "minimum"], "linear_warmup": ["steps"], "linearWarmup": ["steps"],
    ]

    /// One key naming the schedule over its parameters, e.g. `{cosine: {period: 3600,
    /// minimum: 1.0e-5}}`; parameter and schedule names in snake_case or camelCase; `constant`
    /// also as a plain string.
    public init(from decoder: Decoder) throws {
        if let s = try? decoder.singleValueContainer().decode(String.self), s == "constant" { self = .constant; return }
        let c = try decoder.container(keyedBy: Key.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "a schedule is one key of \(Self.names), e.g. {cosine: {period: 3600, minimum: 1.0e-5}}"))
        }
        func value<T: Decodable>(_ names: String...) throws -> T {
            let n = try c.nestedContainer(keyedBy: Key.self, forKey: key)
            for name in names { if let v = try n.decodeIfPresent(T.self, forKey: Key(name)) { return v } }
            throw DecodingError.keyNotFound(Key(names[0]), .init(codingPath: n.codingPath, debugDescription: "missing"))
        }
        // A misspelt or extra parameter (`{cosine: {period: 4000, warmup: 100}}`) is refused by
        // name, as every other recipe key is, rather than silently ignored.
        if let known = Self.parameters[key.stringValue], let n = try? c.nestedContainer(keyedBy: Key.self, forKey: key),
           let unknown = n.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: n.codingPath + [unknown],
                debugDescription: "unknown parameter '\(unknown.stringValue)' of the \(key.stringValue) schedule; use \(Self.names)"))
        }
        switch key.stringValue {
        case "constant": self = .constant
        case "step": self = .step(stepSize: try value("step_size", "stepSize"), gamma: try value("gamma"))
        case "exponential": self = .exponential(gamma: try value("gamma"))
        case "cosine": self = .cosine(period: try value("period"), minimum: try value("minimum"))
        case "linear_warmup", "linearWarmup": self = .linearWarmup(steps: try value("steps"))
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [key],
                debugDescription: "unknown schedule '\(key.stringValue)'; use \(Self.names)"))
        }
    }

    /// The learning rate at step `t` for base rate `base`.
    public func rate(at t: Int, base: Float) -> Float {
        switch self {
        case .constant: return base
        case let .step(size, gamma): return base * Float(Foundation.pow(Double(gamma), Double(t / Swift.max(size, 1))))
        case let .exponential(gamma): return base * Float(Foundation.pow(Double(gamma), Double(t)))
        case let .cosine(period, minimum):
            let tt = Double(Swift.min(t, period))
            return minimum + (base - minimum) * Float((1 + Foundation.cos(Double.pi * tt / Double(Swift.max(period, 1)))) / 2)
        case let .linearWarmup(steps): return base * Swift.min(1, Float(t + 1) / Float(Swift.max(steps, 1)))
        }
    }
}

/// An exponential moving average of a module's parameters for evaluation (Polyak averaging):
/// shadow ← d · shadow + (1 − d) · θ after each step, with the usual warm-up
/// d = min(decay, (1 + n) / (10 + n)) after n updates, so a short run's average is not
/// stuck at the initial weights (with 0.9999 and no warm-up, 400 steps leave 96% of them).
public final class ExponentialMovingAverage {
    public let decay: Float
    /// Updates folded in so far (saved with checkpoints).
    public var updates = 0
    public private(set) var shadow: [String: Tensor] = [:]

    public init(of module: any Module, decay: Float = 0.9999) {
        self.decay = decay
        for (k, p) in module.namedParameters() { shadow[k] = p.value.detached() }
    }

    /// Folds the module's current parameters into the average.
    public func update(from module: any Module) {
        let d = Swift.min(decay, Float(1 + updates) / Float(10 + updates))
        withoutGradient {
            for (k, p) in module.namedParameters() {
                shadow[k] = shadow[k].map { $0 * d + p.value.detached() * (1 - d) } ?? p.value.detached()
            }
        }
        updates += 1
    }

    /// Restores averages saved under "ema." keys.
    public func load(_ tensors: [String: Tensor], updates: Int) {
        for (k, v) in tensors where shadow[k] != nil { shadow[k] = v }
        self.updates = updates
    }

    /// Runs `body` with the averaged weights loaded into `module`, then restores the live ones.
    public func withAveragedWeights<R>(in module: any Module, _ body: () throws -> R) rethrows -> R {
        let live = module.namedParameters().map { ($0.parameter, $0.parameter.value) }
        for (k, p) in module.namedParameters() { if let s = shadow[k] { p.value = s } }
        defer { for (p, v) in live { p.value = v } }
        return try body()
    }
}
