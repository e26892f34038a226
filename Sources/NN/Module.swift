import TensorCore

/// A trainable tensor with identity: optimizer state and checkpoint keys attach to it.
/// `value` is always a leaf of the autograd graph (gradients are taken with respect to it).
public final class Parameter {
    /// The current value, a gradient leaf unless frozen. Its shape is fixed at creation:
    /// assigning another shape stops with both shapes (layers read the shape they were built with).
    public var value: Tensor {
        willSet { precondition(newValue.shape == value.shape, "Parameter: cannot assign a \(newValue.shape) tensor to a \(value.shape) parameter") }
        didSet { value = isFrozen ? value.detached() : value.detached().requiringGradient() }
    }
    /// The last gradient computed for it (set by `Module.computeGradients` or by hand).
    public var grad: Tensor?
    /// Frozen parameters take no gradient and are skipped by optimizers.
    public var isFrozen: Bool {
        didSet { value = isFrozen ? value.detached() : value.detached().requiringGradient() }
    }

    public init(_ value: Tensor, frozen: Bool = false) {
        isFrozen = frozen
        self.value = frozen ? value.detached() : value.detached().requiringGradient()
    }

    public var shape: [Int] { value.shape }
}

/// A tensor saved with a module but not trained (running statistics, EMA codebooks).
public final class Buffer {
    public var value: Tensor
    public init(_ value: Tensor) { self.value = value.detached() }
}

/// A module whose behaviour differs between training and evaluation (dropout, batch norm,
/// spectral norm's power iteration).
public protocol ModeDependent: AnyObject {
    var isTraining: Bool { get set }
}

/// Anything that owns parameters. Stored properties of type `Parameter`, `Buffer`, `Module`,
/// arrays of modules, or optionals of these are found by reflection (a superclass's first). Keys are the property
/// names in snake_case joined with dots, as PyTorch's `state_dict`: `conv1x1Skip.weight` is
/// "conv1x1_skip.weight", element 3 of `convLayers` is "conv_layers.3".
public protocol Module: AnyObject {
    /// Keys the reference spells irregularly, by property name, e.g. ["wn": "WN"].
    static var keyOverrides: [String: String] { get }
}

/// A module that maps one tensor to one tensor, so it can go in a `Sequential`.
public protocol Layer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

extension Module {
    public static var keyOverrides: [String: String] { [:] }

    /// Every parameter with its dotted key, in declaration order.
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        visit(prefix: "") { key, item in if case .parameter(let p) = item { out.append((key, p)) } }
        return out
    }

    /// Every buffer with its dotted key.
    public func namedBuffers() -> [(key: String, buffer: Buffer)] {
        var out: [(String, Buffer)] = []
        visit(prefix: "") { key, item in if case .buffer(let b) = item { out.append((key, b)) } }
        return out
    }

    /// The parameters an optimizer should update (not frozen).
    public var trainableParameters: [Parameter] { namedParameters().map(\.parameter).filter { !$0.isFrozen } }

    /// Number of scalar parameters (trainable and frozen).
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.value.count } }

    /// Every tensor a checkpoint holds: parameters and buffers by key.
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (k, p) in namedParameters() { d[k] = p.value.detached() }
        for (k, b) in namedBuffers() { d[k] = b.value }
        return d
    }

    /// Switches this module and every submodule between training and evaluation behaviour.
    public func setTraining(_ training: Bool) {
        if let m = self as? ModeDependent { m.isTraining = training }
        visitModules { if let m = $0 as? ModeDependent { m.isTraining = training } }
    }

    /// Freezes or unfreezes every parameter.
    public func setFrozen(_ frozen: Bool) {
        for (_, p) in namedParameters() { p.isFrozen = frozen }
    }

    /// Computes ∂loss/∂p for every trainable parameter into `p.grad`.
    public func computeGradients(of loss: Tensor) {
        let params = trainableParameters
        let grads = gradients(of: loss, wrt: params.map(\.value))
        for (p, g) in zip(params, grads) { p.grad = g }
    }

    /// Loads tensors by key. Strict: every parameter and buffer must be present with its
    /// shape and no key may be left over; the error lists every problem at once. PyTorch's
    /// newer weight-norm names (`parametrizations.weight.original0/1`) are accepted for
    /// `weight_g`/`weight_v`.
    public func load(_ tensors: [String: Tensor], source: String = "checkpoint") throws {
        var remaining = tensors
        for (k, v) in tensors {
            for (suffix, replacement) in [("parametrizations.weight.original0", "weight_g"), ("parametrizations.weight.original1", "weight_v")]
            where k.hasSuffix(suffix) {
                remaining[k] = nil
                remaining[String(k.dropLast(suffix.count)) + replacement] = v
            }
        }
        var missing: [String] = [], mismatched: [String] = [], nonFinite: [String] = []
        var assignments: [() -> Void] = []
        for (k, p) in namedParameters() {
            guard let t = remaining.removeValue(forKey: k) else { missing.append(k); continue }
            if t.shape != p.shape { mismatched.append("expected \(p.shape), found \(t.shape) for \(k)"); continue }
            if t.withUnsafeBufferPointer({ $0.contains { !$0.isFinite } }) { nonFinite.append(k) }
            assignments.append { p.value = t }
        }
        for (k, b) in namedBuffers() {
            guard let t = remaining.removeValue(forKey: k) else { missing.append(k); continue }
            if t.shape != b.value.shape { mismatched.append("expected \(b.value.shape), found \(t.shape) for \(k)"); continue }
            if t.withUnsafeBufferPointer({ $0.contains { !$0.isFinite } }) { nonFinite.append(k) }
            assignments.append { b.value = t.detached() }
        }
        let unexpected = remaining.keys.sorted()
        if !missing.isEmpty || !mismatched.isEmpty || !unexpected.isEmpty {
            throw NNError.stateDictMismatch(source: source, missing: missing, unexpected: unexpected, mismatched: mismatched)
        }
        if !nonFinite.isEmpty {
            throw NNError.invalidConfig("'\(source)' holds NaN or infinite weights in \(nonFinite.count) of \(namedParameters().count + namedBuffers().count) tensors (\(nonFinite.sorted().prefix(3).joined(separator: ", "))\(nonFinite.count > 3 ? ", …" : "")): the model that wrote it diverged. Train it again with a lower optimizer.learning_rate or with optimizer.clip_grad_norm, or use a copy saved before it diverged.")
        }
        for a in assignments { a() }
    }

    // MARK: reflection

    func visit(prefix: String, _ body: (String, ModuleItem) -> Void) {
        for (name, value) in Self.children(of: self) {
            // An empty override name adds no path component (Sequential's "0", "1", …).
            let key = prefix + name
            let path = name.isEmpty ? prefix : key + "."
            switch value {
            case let p as Parameter: body(key, .parameter(p))
            case let b as Buffer: body(key, .buffer(b))
            case let m as any Module: m.visit(prefix: path, body)
            case let ms as [any Module]:
                for (i, m) in ms.enumerated() { m.visit(prefix: "\(path)\(i).", body) }
            default: break
            }
        }
    }

    func visitModules(_ body: (any Module) -> Void) {
        for (_, value) in Self.children(of: self) {
            if let m = value as? any Module { body(m); m.visitModules(body) }
            if let ms = value as? [any Module] { for m in ms { body(m); m.visitModules(body) } }
        }
    }

    /// Stored properties that hold parameters, buffers or modules, with their key names
    /// (optionals unwrapped; nil ones skipped).
    static func children(of module: Self) -> [(String, Any)] {
        var out: [(String, Any)] = []
        // A superclass's properties first (the convolutions share `WeightedConvolution`'s).
        var mirrors = [Mirror(reflecting: module)]
        while let up = mirrors.last!.superclassMirror { mirrors.append(up) }
        for child in mirrors.reversed().flatMap({ $0.children }) {
            guard let label = child.label, let value = unwrap(child.value) else { continue }
            guard value is Parameter || value is Buffer || value is any Module || value is [any Module] else { continue }
            out.append((keyOverrides[label] ?? snakeCase(label), value))
        }
        return out
    }

    private static func unwrap(_ value: Any) -> Any? {
        let m = Mirror(reflecting: value)
        guard m.displayStyle == .optional else { return value }
        return m.children.first.map { unwrap($0.value) } ?? nil
    }
}

/// What reflection finds in a module.
enum ModuleItem { case parameter(Parameter), buffer(Buffer) }

/// `conv1x1Skip` → `conv1x1_skip`, `weightG` → `weight_g`.
func snakeCase(_ name: String) -> String {
    var out = ""
    for ch in name {
        if ch.isUppercase {
            if !out.isEmpty { out.append("_") }
            out.append(contentsOf: ch.lowercased())
        } else {
            out.append(ch)
        }
    }
    return out
}

/// Errors of the NN module: checkpoints, state dicts and configurations.
public enum NNError: Error, CustomStringConvertible, Equatable {
    case stateDictMismatch(source: String, missing: [String], unexpected: [String], mismatched: [String])
    case corruptCheckpoint(path: String, reason: String)
    case wrongFamily(path: String, found: String, expected: String)
    case invalidConfig(String)
    case missingCheckpoint(path: String)
    /// A file of another kind (audio, NumPy, a PyTorch pickle) given as a checkpoint.
    case notACheckpoint(path: String, looksLike: String)

    public var description: String {
        switch self {
        case let .stateDictMismatch(source, missing, unexpected, mismatched):
            var lines = ["\(source) does not fit the model:"]
            if !missing.isEmpty { lines.append("  missing keys (\(missing.count)): \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { lines.append("  unexpected keys (\(unexpected.count)): \(unexpected.joined(separator: ", "))") }
            for m in mismatched { lines.append("  shape mismatch: \(m)") }
            lines.append("Check that the checkpoint and the model configuration are of the same model and size.")
            return lines.joined(separator: "\n")
        case let .corruptCheckpoint(path, reason):
            return "'\(path)' is not a valid safetensors checkpoint: \(reason). Re-download or re-convert it."
        case let .wrongFamily(path, found, expected):
            return "'\(path)' holds a \(found) model, not a \(expected) model; pass a \(expected) checkpoint."
        case .invalidConfig(let s):
            return s
        case .missingCheckpoint(let path):
            return "the checkpoint '\(path)' does not exist; check the path."
        case let .notACheckpoint(path, looksLike):
            let fix = looksLike.contains("PyTorch") ? "convert it with tools/convert_checkpoint.py first" : "pass a .safetensors checkpoint"
            return "'\(path)' is not a safetensors checkpoint: it looks like \(looksLike). \(fix.prefix(1).uppercased() + fix.dropFirst())."
        }
    }
}
