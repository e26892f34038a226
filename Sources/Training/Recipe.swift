import DSP
import Foundation
import NN
import Yams

/// A training recipe: data, model, optimizer, schedule and loop settings, read from YAML or
/// JSON. Every section rejects unknown keys, naming the key and where it is, and every
/// default follows the reference implementations.
public struct Recipe: Codable, Sendable {
    public var name: String
    public var data: DataSection
    public var model: ModelSection
    public var optimizer: OptimizerSection
    public var training: TrainingSection

    enum CodingKeys: String, CodingKey, CaseIterable { case name, data, model, optimizer, training }

    public init(from decoder: Decoder) throws {
        try StrictKeys.check(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "run"
        data = try c.decode(DataSection.self, forKey: .data)
        model = try c.decode(ModelSection.self, forKey: .model)
        optimizer = try c.decodeIfPresent(OptimizerSection.self, forKey: .optimizer) ?? OptimizerSection()
        training = try c.decodeIfPresent(TrainingSection.self, forKey: .training) ?? TrainingSection()
    }

    /// Where the data is and how to read it.
    public struct DataSection: Codable, Sendable {
        public var path: String
        public var layout: CorpusLayout = .folder
        /// Sample rate the model trains at (Hz); other files are resampled if `resample`.
        public var sampleRate: Int
        public var resample: Bool = true
        /// Mel preset for conditioned models (nil: unconditional).
        public var melPreset: String?
        public var validationFraction: Double = 0.05

        enum CodingKeys: String, CodingKey, CaseIterable {
            case path, layout, resample
            case sampleRate = "sample_rate", melPreset = "mel_preset", validationFraction = "validation_fraction"
        }

        public init(from decoder: Decoder) throws {
            try StrictKeys.check(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            layout = try c.decodeIfPresent(CorpusLayout.self, forKey: .layout) ?? .folder
            sampleRate = try c.decode(Int.self, forKey: .sampleRate)
            resample = try c.decodeIfPresent(Bool.self, forKey: .resample) ?? true
            melPreset = try c.decodeIfPresent(String.self, forKey: .melPreset)
            validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? 0.05
            guard validationFraction >= 0 && validationFraction < 1 else {
                throw TrainingError.recipe("data.validation_fraction must be in [0, 1), got \(validationFraction).")
            }
            guard sampleRate > 0 else { throw TrainingError.recipe("data.sample_rate must be positive, got \(sampleRate).") }
        }
    }

    /// The model family and its configuration (decoded by the family, strictly).
    public struct ModelSection: Codable, Sendable {
        public var family: String
        /// A named preset of the family (for example WaveNet's `small`).
        public var preset: String?
        /// Family-specific fields overriding the preset, as JSON.
        public var config: JSONValue?

        enum CodingKeys: String, CodingKey, CaseIterable { case family, preset, config }

        public init(from decoder: Decoder) throws {
            try StrictKeys.check(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            family = try c.decode(String.self, forKey: .family)
            preset = try c.decodeIfPresent(String.self, forKey: .preset)
            config = try c.decodeIfPresent(JSONValue.self, forKey: .config)
        }
    }

    public struct OptimizerSection: Codable, Sendable {
        public enum Kind: String, Codable, CaseIterable, Sendable { case adam, adamw, sgd }
        public var kind: Kind = .adam
        public var learningRate: Float = 1e-3
        public var betas: [Float] = [0.9, 0.999]
        public var eps: Float = 1e-8
        public var weightDecay: Float = 0
        public var momentum: Float = 0
        public var nesterov: Bool = false
        public var amsgrad: Bool = false
        public var clipGradNorm: Float?
        public var schedule: LearningRateSchedule = .constant
        /// Decay of an exponential moving average of the weights, saved beside them (nil: none).
        public var ema: Float?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case kind, betas, eps, momentum, nesterov, amsgrad, schedule, ema
            case learningRate = "learning_rate", weightDecay = "weight_decay", clipGradNorm = "clip_grad_norm"
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            try StrictKeys.check(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .adam
            learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? 1e-3
            betas = try c.decodeIfPresent([Float].self, forKey: .betas) ?? [0.9, 0.999]
            eps = try c.decodeIfPresent(Float.self, forKey: .eps) ?? 1e-8
            weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? (kind == .adamw ? 0.01 : 0)
            momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? 0
            nesterov = try c.decodeIfPresent(Bool.self, forKey: .nesterov) ?? false
            amsgrad = try c.decodeIfPresent(Bool.self, forKey: .amsgrad) ?? false
            clipGradNorm = try c.decodeIfPresent(Float.self, forKey: .clipGradNorm)
            schedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .schedule) ?? .constant
            ema = try c.decodeIfPresent(Float.self, forKey: .ema)
            guard betas.count == 2 else { throw TrainingError.recipe("optimizer.betas must have two values, got \(betas).") }
            guard betas.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw TrainingError.recipe("optimizer.betas must each be in [0, 1), got \(betas).") }
            guard eps > 0 && eps.isFinite else { throw TrainingError.recipe("optimizer.eps must be positive, got \(eps).") }
            // Options of another optimizer would be ignored without a word.
            let given = Set(c.allKeys.map(\.stringValue))
            let foreign: [String] = kind == .sgd ? ["betas", "eps", "amsgrad"].filter(given.contains)
                                                : ["momentum", "nesterov"].filter(given.contains)
            if !foreign.isEmpty {
                throw TrainingError.recipe("optimizer.\(foreign.joined(separator: ", optimizer.")) \(foreign.count == 1 ? "does" : "do") not apply to \(kind.rawValue); drop \(foreign.count == 1 ? "it" : "them") or change optimizer.kind.")
            }
            if let c = clipGradNorm, !(c > 0) { throw TrainingError.recipe("optimizer.clip_grad_norm must be positive, got \(c).") }
            if let e = ema, !(e > 0 && e < 1) { throw TrainingError.recipe("optimizer.ema must be in (0, 1), got \(e).") }
            guard learningRate > 0, learningRate.isFinite else { throw TrainingError.recipe("optimizer.learning_rate must be positive and finite, got \(learningRate).") }
            guard momentum >= 0 && momentum < 1 else { throw TrainingError.recipe("optimizer.momentum must be in [0, 1), got \(momentum).") }
            guard weightDecay >= 0, weightDecay.isFinite else { throw TrainingError.recipe("optimizer.weight_decay must be finite and ≥ 0, got \(weightDecay).") }
            switch schedule {
            case .constant: break
            case let .step(size, gamma):
                guard size >= 1, gamma > 0 else { throw TrainingError.recipe("optimizer.schedule step needs step_size ≥ 1 and gamma > 0, got \(size) and \(gamma).") }
            case let .exponential(gamma):
                guard gamma > 0 else { throw TrainingError.recipe("optimizer.schedule exponential needs gamma > 0, got \(gamma).") }
            case let .cosine(period, minimum):
                guard period >= 1, minimum >= 0 else { throw TrainingError.recipe("optimizer.schedule cosine needs period ≥ 1 and minimum ≥ 0, got \(period) and \(minimum).") }
            case let .linearWarmup(steps):
                guard steps >= 1 else { throw TrainingError.recipe("optimizer.schedule linear_warmup needs steps ≥ 1, got \(steps).") }
            }
        }
    }

    public struct TrainingSection: Codable, Sendable {
        public var batchSize: Int = 4
        /// Samples per training crop (rounded down to whole mel frames for conditioned models).
        public var cropSamples: Int = 8000
        public var steps: Int = 10000
        public var checkpointEvery: Int = 1000
        public var validateEvery: Int = 500
        public var logEvery: Int = 50
        public var seed: UInt64 = 0
        public static let maxCropSamples = 1 << 20

        enum CodingKeys: String, CodingKey, CaseIterable {
            case steps, seed
            case batchSize = "batch_size", cropSamples = "crop_samples", checkpointEvery = "checkpoint_every"
            case validateEvery = "validate_every", logEvery = "log_every"
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            try StrictKeys.check(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 4
            cropSamples = try c.decodeIfPresent(Int.self, forKey: .cropSamples) ?? 8000
            steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? 10000
            checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? 1000
            validateEvery = try c.decodeIfPresent(Int.self, forKey: .validateEvery) ?? 500
            logEvery = try c.decodeIfPresent(Int.self, forKey: .logEvery) ?? 50
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
            for (key, v) in [("batch_size", batchSize), ("crop_samples", cropSamples), ("steps", steps),
                             ("checkpoint_every", checkpointEvery), ("validate_every", validateEvery), ("log_every", logEvery)] where v < 1 {
                throw TrainingError.recipe("training.\(key) must be at least 1, got \(v).")
            }
            // A crop is held for every layer's activations: 2^20 samples (47 s at 22 050 Hz)
            // is far beyond what vocoders train on and already gigabytes per clip.
            guard cropSamples <= Self.maxCropSamples else {
                throw TrainingError.recipe("training.crop_samples is \(cropSamples); at most \(Self.maxCropSamples) (vocoders train on 8 000–16 000).")
            }
        }
    }

    /// The run folder runs/<name> when no other is given: a name that is empty or climbs out of
    /// runs/ (`..`) is refused, as is an absolute one.
    public func defaultRunFolder() throws -> String {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw TrainingError.recipe("name '\(name)' must name a folder under runs/ (no '..', not empty or absolute); fix it or pass --out.")
        }
        return "runs/" + name
    }

    /// Reads a recipe from a `.yaml`/`.yml` or `.json` file; errors name the file and the key.
    public static func load(_ path: String) throws -> Recipe {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TrainingError.recipe("the recipe '\(path)' does not exist; check the path (Recipes/ holds examples).")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.recipe("cannot read the recipe '\(path)'\(isDirectory.boolValue ? ": it is a folder" : ""); pass a .yaml or .json file (Recipes/ holds examples).")
        }
        guard let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
            throw TrainingError.recipe("'\(path)' is not a recipe: it is not UTF-8 text (a recipe is a .yaml or .json file; Recipes/ holds examples).")
        }
        return try parse(text, source: path)
    }

    /// The path of the first infinite or NaN number in a parsed YAML document (`.inf`, `.nan`,
    /// `1e400`), which JSON, and so the recipe decoder, cannot hold.
    static func nonFiniteNumber(in object: Any, path: String = "") -> String? {
        switch object {
        case let d as [String: Any]:
            for key in d.keys.sorted() {
                if let found = nonFiniteNumber(in: d[key]!, path: path.isEmpty ? key : path + "." + key) { return found }
            }
        case let a as [Any]:
            for (i, v) in a.enumerated() { if let found = nonFiniteNumber(in: v, path: "\(path)[\(i)]") { return found } }
        case let x as Double where !x.isFinite: return path
        default: break
        }
        return nil
    }

    /// Keys whose values may be fractions or negative; every other number in a recipe is a count.
    static let realKeys: Set<String> = ["learning_rate", "betas", "eps", "weight_decay", "momentum", "clip_grad_norm", "ema",
                                        "gamma", "minimum", "validation_fraction", "log_scale_min"]

    /// "path=value" for each number under a count key that is a fraction or negative: the
    /// values Foundation's decoder refuses without naming their key.
    static func wholeNumberSuspects(_ value: Any, path: String = "") -> [String] {
        if let o = value as? [String: Any] {
            return o.keys.sorted().flatMap { k -> [String] in
                Self.realKeys.contains(k) ? [] : wholeNumberSuspects(o[k]!, path: path.isEmpty ? k : path + "." + k)
            }
        }
        if let a = value as? [Any] { return a.flatMap { wholeNumberSuspects($0, path: path) } }
        if let n = value as? NSNumber {   // booleans read as 0 or 1, never suspects
            let d = n.doubleValue
            if d < 0 || d != d.rounded() { return ["\(path) (\(n))"] }
        }
        return []
    }

    public static func parse(_ text: String, source: String) throws -> Recipe {
        let json: Data
        if source.lowercased().hasSuffix(".json") {
            json = Data(text.utf8)
            do {
                guard try JSONSerialization.jsonObject(with: json) is [String: Any] else {
                    throw TrainingError.recipe("'\(source)' must be a JSON object of sections (data, model, optimizer, training).")
                }
            } catch let e as TrainingError {
                throw e
            } catch {
                let why = "\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error)".trimmingCharacters(in: CharacterSet(charactersIn: ". "))
                throw TrainingError.recipe("'\(source)' is not valid JSON (\(why)).")
            }
        } else {
            let object: Any?
            do { object = try Yams.load(yaml: text) } catch {
                throw TrainingError.recipe("'\(source)' is not valid YAML: \(error)")
            }
            if let object, let path = Self.nonFiniteNumber(in: object) {
                throw TrainingError.recipe("'\(source)': \(path) is not a finite number; give a finite value.")
            }
            guard let object, JSONSerialization.isValidJSONObject(object) else {
                throw TrainingError.recipe("'\(source)' must be a mapping of sections (data, model, optimizer, training).")
            }
            json = try JSONSerialization.data(withJSONObject: object)
        }
        do {
            return try JSONDecoder().decode(Recipe.self, from: json)
        } catch let e as TrainingError {
            throw TrainingError.recipe("'\(source)': \(e)")
        } catch let e as DecodingError {
            if case let .dataCorrupted(ctx) = e, ctx.codingPath.isEmpty,
               let object = try? JSONSerialization.jsonObject(with: json), case let suspects = Self.wholeNumberSuspects(object), !suspects.isEmpty {
                throw TrainingError.recipe("'\(source)': \(suspects.joined(separator: ", ")) must be a whole number ≥ 0.")
            }
            throw TrainingError.recipe("'\(source)': \(StrictKeys.describe(e))")
        }
    }
}

/// Rejects keys a Codable type does not declare, naming the key and its path.
public enum StrictKeys {
    struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public static func check<K: CodingKey>(_ decoder: Decoder, _ keys: K.Type) throws {
        let raw = try decoder.container(keyedBy: AnyKey.self)
        let path = decoder.codingPath.map(\.stringValue).joined(separator: ".")
        for key in raw.allKeys where K(stringValue: key.stringValue) == nil {
            let full = path.isEmpty ? key.stringValue : path + "." + key.stringValue
            throw TrainingError.recipe("unknown key '\(full)'; check its spelling (known here: \(allNames(K.self))).")
        }
    }

    static func allNames<K: CodingKey>(_: K.Type) -> String {
        guard let cases = K.self as? any CaseIterable.Type else { return "see Recipes/README.md" }
        return (cases.allCases as any Collection).compactMap { ($0 as? K)?.stringValue }.joined(separator: ", ")
    }

    /// A decoding error as "key a.b: expected Int, found a string".
    public static func describe(_ e: DecodingError) -> String {
        func path(_ ctx: DecodingError.Context) -> String { ctx.codingPath.map(\.stringValue).joined(separator: ".") }
        switch e {
        case let .typeMismatch(type, ctx):
            return "key '\(path(ctx))' has the wrong type: expected \(type) (\(ctx.debugDescription))."
        case let .valueNotFound(type, ctx): return "key '\(path(ctx))' is empty; expected \(type)."
        case let .keyNotFound(key, ctx):
            let p = path(ctx)
            return "missing key '\(p.isEmpty ? key.stringValue : p + "." + key.stringValue)'."
        case let .dataCorrupted(ctx):
            // Foundation's decoder reports a number that does not fit its type (2.5 for a
            // count, -1 for a seed) without a key.
            if ctx.codingPath.isEmpty {
                return "a value does not fit its key's type: a fraction or a negative number where a whole number is expected (batch_size, crop_samples, steps, seed, …)?"
            }
            let choices: [String: [String]] = ["layout": CorpusLayout.allCases.map(\.rawValue),
                                               "kind": Recipe.OptimizerSection.Kind.allCases.map(\.rawValue)]
            if ctx.debugDescription.hasPrefix("Cannot initialize"), let last = ctx.codingPath.last?.stringValue, let names = choices[last] {
                return "key '\(path(ctx))' must be one of \(names.joined(separator: ", "))."
            }
            return "key '\(path(ctx))': \(ctx.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}

/// Any JSON value, for family-specific sections decoded later.
public enum JSONValue: Codable, Equatable, Sendable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Decodes this value as `T` (errors name keys relative to `path`).
    public func decode<T: Decodable>(_: T.Type, path: String) throws -> T {
        let data = try JSONEncoder().encode(self)
        do { return try JSONDecoder().decode(T.self, from: data) } catch let e as DecodingError {
            throw TrainingError.recipe("in \(path): \(StrictKeys.describe(e))")
        }
    }
}
