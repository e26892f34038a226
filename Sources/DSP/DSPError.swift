/// Everything a user can get wrong with spectral features; each message names the fix.
public enum DSPError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(String)
    case unknownPreset(String, known: [String])
    case melMismatch(String)
    case signalTooShort(samples: Int, needed: Int)

    public var description: String {
        switch self {
        case .invalidParameter(let s): return s
        case .unknownPreset(let name, let known):
            return "unknown mel preset '\(name)'; use one of: \(known.joined(separator: ", "))."
        case .melMismatch(let s): return s
        case .signalTooShort(let n, let needed):
            return "the signal has \(n) samples but needs at least \(needed); pad it or use a smaller n_fft."
        }
    }
}
