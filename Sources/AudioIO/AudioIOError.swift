/// Everything a user can get wrong when reading or writing files; each message names the
/// problem and the fix.
public enum AudioIOError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(String)
    case notAudio(path: String, reason: String)
    /// A file of another kind (a NumPy array, a checkpoint) where audio was expected.
    case notAudioButA(path: String, kind: String, fix: String)
    /// A file the process may not read.
    case unreadable(String)
    case emptyAudio(String)
    case unsupportedExtension(path: String, supported: [String])
    case writeFailed(path: String, reason: String)
    case nonFiniteSamples(path: String, index: Int)
    case badNPY(path: String, reason: String)
    case resampleFailed(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .fileNotFound(let p):
            return "'\(p)' does not exist; check the path."
        case .notAudio(let p, let reason):
            return "'\(p)' is not a readable audio file (\(reason)); convert it to WAV, FLAC or OGG first."
        case let .notAudioButA(p, kind, fix):
            return "'\(p)' is \(kind), not audio; \(fix)."
        case .unreadable(let p):
            return "cannot read '\(p)': permission denied; check its permissions (ls -l) or copy it somewhere readable."
        case .emptyAudio(let p):
            return "'\(p)' holds no audio samples; record or export it again."
        case .unsupportedExtension(let p, let supported):
            return "cannot choose an audio format for '\(p)' from its extension; use one of: \(supported.map { "." + $0 }.joined(separator: ", "))."
        case .writeFailed(let p, let reason):
            let why = reason.hasSuffix(".") ? String(reason.dropLast()) : reason
            let fix = why.lowercased().contains("permission") ? " Choose a folder you may write to, or check its permissions." : ""
            return "could not write '\(p)': \(why). Nothing was changed at that path.\(fix)"
        case .nonFiniteSamples(let p, let i):
            return "'\(p)' has a NaN or infinite sample at index \(i); fix or re-export the audio."
        case .badNPY(let p, let reason):
            return "'\(p)' is not a usable .npy file: \(reason)."
        case .resampleFailed(let reason):
            return "resampling failed: \(reason)."
        case .invalidArgument(let reason):
            return reason
        }
    }
}
