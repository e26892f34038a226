import AudioIO
import DSP
import Foundation
import Models
import TensorCore

/// One clip of a corpus and what its layout says about it.
public struct AudioItem: Equatable, Sendable {
    public let path: String
    public let text: String?
    /// Index into the corpus's `speakers` (VCTK), if any.
    public let speaker: Int?
    /// Index into the corpus's `labels` (SC09 class folders), if any.
    public let label: Int?
}

/// How a corpus folder is laid out.
public enum CorpusLayout: String, Codable, CaseIterable, Sendable {
    /// Every audio file under the folder, recursively.
    case folder
    /// LJSpeech: `metadata.csv` (id|text|normalised text) and `wavs/<id>.wav`.
    case ljspeech
    /// VCTK: one folder per speaker (p225, …) under `wav48_silence_trimmed`, `wav48` or the root.
    case vctk
    /// SC09 (Speech Commands digits): one folder per class (zero … nine) of 1-second clips.
    case sc09
}

/// The clips of a corpus, found once from its layout.
public struct AudioCorpus: Sendable {
    public let root: String
    public let layout: CorpusLayout
    public let items: [AudioItem]
    public let speakers: [String]
    public let labels: [String]
    /// What the scan left out and why, for the user (e.g. metadata rows without their wav).
    public var notes: [String] = []

    static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "opus", "aiff", "aif", "au", "caf", "w64", "mp3"]

    /// Scans `root`; errors name a missing folder, a missing metadata file, or a folder without audio.
    public static func scan(_ root: String, layout: CorpusLayout) throws -> AudioCorpus {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw TrainingError.data("the data folder '\(root)' does not exist; make it (Recipes/data/ has scripts) or fix data.path in the recipe.")
        }
        var items: [AudioItem] = [], speakers: [String] = [], labels: [String] = [], notes: [String] = []
        switch layout {
        case .folder:
            items = audioFiles(under: root).map { AudioItem(path: $0, text: nil, speaker: nil, label: nil) }
        case .ljspeech:
            let csv = root + "/metadata.csv"
            guard let text = try? String(contentsOfFile: csv, encoding: .utf8) else {
                throw TrainingError.data("'\(csv)' is missing; an LJSpeech folder needs metadata.csv and wavs/ (or use layout: folder).")
            }
            var missing: [String] = [], malformed = 0
            for line in text.split(whereSeparator: \.isNewline) where !line.allSatisfy(\.isWhitespace) {
                let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                guard fields.count >= 2 else { malformed += 1; continue }
                let path = root + "/wavs/" + fields[0] + ".wav"
                guard FileManager.default.fileExists(atPath: path) else { missing.append(fields[0]); continue }
                items.append(AudioItem(path: path, text: fields.count >= 3 && !fields[2].isEmpty ? fields[2] : fields[1], speaker: nil, label: nil))
            }
            if !missing.isEmpty {
                notes.append("\(missing.count) row\(missing.count == 1 ? "" : "s") of metadata.csv name\(missing.count == 1 ? "s" : "") a missing wav (\(Self.firstFew(missing))); skipped")
            }
            if malformed > 0 {
                notes.append("\(malformed) row\(malformed == 1 ? "" : "s") of metadata.csv \(malformed == 1 ? "has" : "have") no '|' (LJSpeech rows are id|text|normalised text); skipped")
            }
        case .vctk, .sc09:
            var base = root
            if layout == .vctk {
                for sub in ["wav48_silence_trimmed", "wav48"] where FileManager.default.fileExists(atPath: root + "/" + sub) { base = root + "/" + sub; break }
            }
            let folders = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).sorted().filter { name in
                var d: ObjCBool = false
                return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: base + "/" + name, isDirectory: &d) && d.boolValue
            }
            var secondMic = 0
            for name in folders {
                var files = audioFiles(under: base + "/" + name)
                if layout == .vctk {
                    // VCTK 0.92 recorded every utterance with two microphones (…_mic1.flac,
                    // …_mic2.flac): keep mic1 where both exist, as the usual recipes do.
                    // Paired by folder and stem (pXXX_YYY), whatever their extensions.
                    func stem(_ f: String) -> String { (f as NSString).deletingPathExtension }
                    let mic1 = Set(files.map(stem).filter { $0.hasSuffix("_mic1") }.map { String($0.dropLast(5)) })
                    let before = files.count
                    files = files.filter { f in
                        let s = stem(f)
                        return !(s.hasSuffix("_mic2") && mic1.contains(String(s.dropLast(5))))
                    }
                    secondMic += before - files.count
                }
                if files.isEmpty { continue }
                let index = layout == .vctk ? speakers.count : labels.count
                if layout == .vctk { speakers.append(name) } else { labels.append(name) }
                for f in files {
                    items.append(AudioItem(path: f, text: nil, speaker: layout == .vctk ? index : nil, label: layout == .sc09 ? index : nil))
                }
            }
            if secondMic > 0 {
                notes.append("\(secondMic) second-microphone recording\(secondMic == 1 ? "" : "s") (_mic2) left out: VCTK 0.92 has every utterance from two microphones, and mic1 is kept")
            }
        }
        guard !items.isEmpty else {
            let why = notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")"
            throw TrainingError.data("no audio found in '\(root)' for the \(layout.rawValue) layout\(why); check data.path and data.layout in the recipe.")
        }
        return AudioCorpus(root: root, layout: layout, items: items, speakers: speakers, labels: labels, notes: notes)
    }

    /// The same corpus with only `items` (e.g. the readable ones).
    public func keeping(_ items: [AudioItem]) -> AudioCorpus {
        AudioCorpus(root: root, layout: layout, items: items, speakers: speakers, labels: labels, notes: notes)
    }

    static func firstFew(_ names: [String]) -> String {
        names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", …" : "")
    }

    /// Opens every clip's header before training: clips that cannot be read (damaged, empty,
    /// not audio, a macOS `._` resource file) are left out with a note, rather than failing a
    /// step hours into a run; a clip at another rate is an error when resampling is off.
    /// Returns the readable items, each with its length in samples at `sampleRate`.
    public func readableItems(sampleRate: Int, allowResampling: Bool) throws -> (items: [AudioItem], lengths: [Int], notes: [String]) {
        var kept: [AudioItem] = [], lengths: [Int] = [], unreadable: [String] = [], otherRates: [Int: Int] = [:]
        for item in items {
            guard !(item.path as NSString).lastPathComponent.hasPrefix("._"),
                  let info = try? SoundFile.info(item.path), info.frames > 0 else {
                unreadable.append(item.path)
                continue
            }
            if info.sampleRate != sampleRate && !allowResampling {
                throw TrainingError.data("'\(item.path)' is \(info.sampleRate) Hz but the recipe expects \(sampleRate) Hz and data.resample is false; resample the corpus or set resample: true.")
            }
            if info.sampleRate != sampleRate { otherRates[info.sampleRate, default: 0] += 1 }
            kept.append(item)
            lengths.append(Int((Double(info.frames) * Double(sampleRate) / Double(info.sampleRate)).rounded(.down)))
        }
        var notes: [String] = []
        if !unreadable.isEmpty {
            notes.append("\(unreadable.count) file\(unreadable.count == 1 ? " is" : "s are") not readable audio (\(Self.firstFew(unreadable))); left out")
        }
        if !otherRates.isEmpty {
            let count = otherRates.values.reduce(0, +)
            let rates = otherRates.sorted { $0.key < $1.key }.map { "\($0.value) at \($0.key) Hz" }.joined(separator: ", ")
            notes.append("\(count) of \(kept.count) clips are not at \(sampleRate) Hz (\(rates)); they are resampled to \(sampleRate) Hz as they load (resample the corpus once to skip that work)")
        }
        guard !kept.isEmpty else {
            throw TrainingError.data("none of the \(items.count) files in '\(root)' is readable audio; check data.path and the files.")
        }
        return (kept, lengths, notes)
    }

    static func audioFiles(under root: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            if audioExtensions.contains((rel as NSString).pathExtension.lowercased()) { out.append(root + "/" + rel) }
        }
        return out.sorted()
    }

    /// A deterministic split: an item is held out for validation when the hash of its path
    /// relative to the root falls below `fraction` (stable when files are added or removed).
    public func split(validationFraction fraction: Double) -> (train: [AudioItem], validation: [AudioItem]) {
        var train: [AudioItem] = [], validation: [AudioItem] = []
        for item in items {
            let rel = item.path.hasPrefix(root) ? String(item.path.dropFirst(root.count)) : item.path
            var h: UInt64 = 0xcbf2_9ce4_8422_2325                       // FNV-1a
            for b in rel.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            if Double(h % 1_000_000) / 1_000_000 < fraction { validation.append(item) } else { train.append(item) }
        }
        if validation.isEmpty && fraction > 0 && train.count > 1 { validation.append(train.removeLast()) }
        // Never leave training empty: a one-clip corpus trains on its clip.
        if train.isEmpty, let first = validation.first { train.append(first); validation.removeFirst() }
        return (train, validation)
    }
}

/// A clip loaded for training: mono samples at the model's rate, and its mel frames when the
/// model is conditioned on them.
public struct LoadedClip: Sendable {
    public let samples: [Float]
    public let mel: Tensor?
    public let speaker: Int?
    public let label: Int?
}

/// Loads clips (resampling when allowed), computes mels with the preset, and cuts random
/// fixed-length crops aligned with mel frames. Deterministic: the batch for a step depends
/// only on the seed and the step number, so a resumed run sees the same batches.
public final class ClipLoader: @unchecked Sendable {
    public let items: [AudioItem]
    public let sampleRate: Int
    public let mel: MelSpectrogram?
    public let allowResampling: Bool
    private var cache: [Int: LoadedClip] = [:]
    private var cachedBytes = 0
    /// Clips are kept in memory up to this many bytes (samples and mels); beyond, they are re-read.
    public var cacheLimit = 2 << 30
    private let lock = NSLock()
    /// Called with a notice each time a file is resampled as it loads (`wavekit train` notes
    /// the count once, from `AudioCorpus.readableItems`, instead).
    public var notice: (String) -> Void = { _ in }

    public init(items: [AudioItem], sampleRate: Int, melPreset: MelPreset?, allowResampling: Bool) throws {
        guard !items.isEmpty else { throw TrainingError.data("no clips to load; the corpus (or its split) is empty.") }
        guard sampleRate > 0 else { throw TrainingError.recipe("data.sample_rate must be positive, got \(sampleRate).") }
        self.items = items
        self.sampleRate = sampleRate
        mel = try melPreset.map { try MelSpectrogram(preset: $0) }
        self.allowResampling = allowResampling
    }

    public func clip(_ index: Int) throws -> LoadedClip {
        if let c = lock.withLock({ cache[index] }) { return c }
        let item = items[index]
        var audio = try SoundFile.read(item.path, mixDown: true)
        if audio.sampleRate != sampleRate {
            guard allowResampling else {
                throw TrainingError.data("'\(item.path)' is \(audio.sampleRate) Hz but the recipe expects \(sampleRate) Hz and data.resample is false; resample the corpus or set resample: true.")
            }
            notice("resampling '\(item.path)' from \(audio.sampleRate) Hz to \(sampleRate) Hz")
            audio = try Resampler.resample(audio, to: sampleRate)
        }
        let samples = audio.monoSamples
        let clip = LoadedClip(samples: samples, mel: mel.map { $0(samples) }, speaker: item.speaker, label: item.label)
        let bytes = (samples.count + (clip.mel?.count ?? 0)) * 4
        lock.withLock {
            if cachedBytes + bytes <= cacheLimit { cache[index] = clip; cachedBytes += bytes }
        }
        return clip
    }

    /// The samples a crop of `cropSamples` holds: whole mel frames (at least one) when there is
    /// a mel, else exactly `cropSamples`.
    public func cropLength(_ cropSamples: Int) -> Int {
        guard let hop = mel?.preset.hopLength else { return cropSamples }
        return Swift.max(1, cropSamples / hop) * hop
    }

    /// `batchSize` random crops of `cropSamples` (rounded down to whole hops when there is a
    /// mel) for `step`; short clips are zero-padded (their mels with the preset's floor).
    public func batch(step: Int, seed: UInt64, batchSize: Int, cropSamples: Int) throws -> Batch {
        var rng = RandomGenerator(seed: seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15)
        let hop = mel?.preset.hopLength ?? 1
        let length = cropLength(cropSamples), frames = length / hop
        var audio: [Float] = [], mels: [Tensor] = [], speakers: [Int] = [], labels: [Int] = []
        for _ in 0..<batchSize {
            let index = Int(rng.next() % UInt64(items.count))
            let c = try clip(index)
            let available = mel != nil ? Swift.max(0, (c.mel?.shape[1] ?? 1) - frames) : Swift.max(0, c.samples.count - length)
            let start = available > 0 ? Int(rng.next() % UInt64(available + 1)) : 0
            let s0 = mel != nil ? start * hop : start
            var crop = [Float](repeating: 0, count: length)
            for i in 0..<length where s0 + i < c.samples.count { crop[i] = c.samples[s0 + i] }
            audio += crop
            if let m = c.mel {
                let floor = m.min().item
                var piece = m.sliced(axis: 1, start: start, end: Swift.min(start + frames, m.shape[1]))
                if piece.shape[1] < frames { piece = piece.padded([(0, frames - piece.shape[1])], mode: .constant(floor)) }
                mels.append(piece.contiguous())
            }
            speakers.append(c.speaker ?? 0)
            labels.append(c.label ?? 0)
        }
        return Batch(audio: Tensor(shape: [batchSize, length], scalars: audio),
                     mel: mels.isEmpty ? nil : Tensor.stack(mels, axis: 0).detached(),
                     speakers: speakers, labels: labels)
    }
}

/// Prepares the next batches on a background thread while the current step computes.
public final class BatchPrefetcher: @unchecked Sendable {
    private let make: (Int) throws -> Batch
    private var ready: [Int: Result<Batch, Error>] = [:]
    private let condition = NSCondition()
    private var next: Int
    private let depth: Int
    private var stopped = false

    public init(startStep: Int, depth: Int = 2, make: @escaping (Int) throws -> Batch) {
        self.make = make
        next = startStep
        self.depth = depth
        let thread = Thread { [weak self] in self?.loop() }
        thread.name = "wavekit-batches"
        thread.start()
    }

    private func loop() {
        while true {
            condition.lock()
            while !stopped && ready.count >= depth { condition.wait() }
            if stopped { condition.unlock(); return }
            let step = next
            next += 1
            condition.unlock()
            let result = Result { try make(step) }
            condition.lock()
            ready[step] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The batch for `step` (waits until it is ready).
    public func batch(for step: Int) throws -> Batch {
        condition.lock()
        defer { condition.unlock() }
        while ready[step] == nil { condition.wait() }
        let r = ready.removeValue(forKey: step)!
        condition.broadcast()
        return try r.get()
    }

    public func stop() {
        condition.lock(); stopped = true; condition.broadcast(); condition.unlock()
    }
}
