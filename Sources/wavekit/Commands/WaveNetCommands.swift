import ArgumentParser
import AudioIO
import DSP
import Foundation
import Models
import NN
import TensorCore

/// Loading checkpoints and their mels for the neural commands.
enum NeuralVocoding {
    /// A WaveNet from a checkpoint, after checking the family.
    static func waveNet(_ path: String) throws -> WaveNet {
        let family = try WaveNet.family(ofCheckpoint: path)
        guard family == WaveNet.family else {
            throw NNError.wrongFamily(path: path, found: family, expected: WaveNet.family)
        }
        return try WaveNet.load(path)
    }

    /// `input`'s mel for a checkpoint with this preset (nil: the checkpoint records none), band
    /// count and hop (.npy, validated against all three, or audio, whose mel is computed with
    /// the preset), and the audio when given.
    static func checkMel(_ input: String, checkpoint: String, presetName: String?, bands: Int, hop: Int? = nil,
                         note: (String) -> Void = { _ in }) throws -> (Tensor, MelPreset, [Float]?) {
        let preset: MelPreset
        if input.lowercased().hasSuffix(".npy") {
            let file = try NPY.read(input)
            let recorded = file.metadata["preset"]
            if let presetName, let recorded, recorded != presetName {
                throw DSPError.melMismatch("'\(input)' was made with the '\(recorded)' preset but the checkpoint expects '\(presetName)'; recompute it with `wavekit mel --preset \(presetName)`.")
            }
            if let name = presetName ?? recorded {
                preset = try MelPreset.named(name)
            } else {
                note("note: neither '\(checkpoint)' nor '\(input)' records a mel preset; reading the mel as tacotron2 (22050 Hz, hop 256)")
                preset = .tacotron2
            }
            let mel = file.tensor
            if mel.rank == 2 && mel.shape[0] != bands {
                let hint = mel.shape[1] == bands ? " It looks transposed ([frames, n_mels]): save array.T instead." : " Recompute it with `wavekit mel --preset \(preset.name)`."
                throw DSPError.melMismatch("'\(input)' has \(mel.shape[0]) mel bands but the checkpoint expects \(bands).\(hint)")
            }
            try checkHop(preset, hop, checkpoint: checkpoint)
            try preset.validate(mel, source: input)
            return (mel, preset, nil)
        }
        if input.lowercased().hasSuffix(".safetensors") {
            throw AudioIOError.invalidArgument("'\(input)' is a checkpoint, not a mel-spectrogram (.npy) or audio file; pass the checkpoint with --checkpoint.")
        }
        guard let presetName else {
            // Suggest re-converting only with presets that fit the model (bands, and hop when known).
            let fitting = MelPreset.all.filter { $0.misfit(nMels: bands, hopLength: hop) == nil }.map(\.name)
            let fix = fitting.isEmpty
                ? "No WaveKit preset has its \(bands) bands\(hop.map { " and hop \($0)" } ?? ""): pass a mel-spectrogram (.npy) made as it was trained."
                : "Re-convert the checkpoint with `tools/convert_checkpoint.py ... --preset NAME` (\(fitting.joined(separator: ", ")) fit\(fitting.count == 1 ? "s" : "")), or pass a mel-spectrogram (.npy)."
            throw DSPError.melMismatch("'\(checkpoint)' records no mel preset, so WaveKit cannot compute its conditioning from the audio '\(input)'. \(fix)")
        }
        preset = try MelPreset.named(presetName)
        try checkHop(preset, hop, checkpoint: checkpoint)
        var audio = try SoundFile.read(input, mixDown: true)
        if audio.sampleRate != preset.sampleRate {
            note("resampling \(audio.sampleRate) Hz → \(preset.sampleRate) Hz (the checkpoint's rate)")
            audio = try Resampler.resample(audio, to: preset.sampleRate)
        }
        let samples = audio.monoSamples
        return (try MelSpectrogram(preset: preset)(samples), preset, samples)
    }

    /// A model that upsamples mel frames by `hop` samples cannot vocode a preset of another hop.
    private static func checkHop(_ preset: MelPreset, _ hop: Int?, checkpoint: String) throws {
        if let hop, let misfit = preset.misfit(nMels: preset.nMels, hopLength: hop) {
            throw DSPError.melMismatch("'\(checkpoint)' does not take this mel: \(misfit); use a mel made with the preset the model was trained on.")
        }
    }

    /// The speaker id of each of `count` utterances for a WaveNet: --speaker (an id, or a
    /// name the checkpoint recorded from its corpus; default 0) when the model is
    /// speaker-conditioned, nil when it is not (where --speaker is an error).
    static func speakers(for model: WaveNet, _ speaker: String?, count: Int, checkpoint: String) throws -> [Int]? {
        guard let n = model.config.nSpeakers else {
            if speaker != nil { throw ValidationError("--speaker does not apply to '\(checkpoint)': the model has no speaker conditioning. Drop it.") }
            return nil
        }
        var id = 0
        if let speaker {
            if let number = Int(speaker) {
                id = number
            } else {
                let names = try Checkpoint.speakerNames(Safetensors.read(checkpoint).metadata)
                guard let index = names.firstIndex(of: speaker) else {
                    throw NNError.invalidConfig(names.isEmpty
                        ? "'\(checkpoint)' records no speaker names; pass --speaker as an id (0…\(n - 1))."
                        : "no speaker '\(speaker)' in '\(checkpoint)'; it knows \(names.prefix(8).joined(separator: ", "))\(names.count > 8 ? ", …" : "") (or pass an id, 0…\(n - 1)).")
                }
                id = index
            }
        }
        guard id >= 0 && id < n else { throw NNError.invalidConfig("--speaker \(id) is out of range: the model has \(n) speakers (0…\(n - 1)).") }
        return Array(repeating: id, count: count)
    }

    /// A mel-conditioned WaveNet's mel for `input` (see checkMel).
    static func mel(for input: String, model: WaveNet, checkpoint: String, note: (String) -> Void) throws -> (Tensor, MelPreset, [Float]?) {
        guard let cin = model.config.cinChannels else {
            throw NNError.invalidConfig("this WaveNet is unconditional; use `wavekit generate` instead of vocoding a mel.")
        }
        guard model.config.upsampleScales != nil else {
            throw NNError.invalidConfig("'\(checkpoint)' has no upsampler (upsample_scales is null): it takes conditioning at the sample rate, not mel frames, which `vocode` does not make. Use the model from Swift with conditioning of your own (WaveNetGenerator).")
        }
        return try checkMel(input, checkpoint: checkpoint, presetName: model.config.melPreset, bands: cin,
                            hop: model.config.hopLength, note: note)
    }
}

/// `wavekit generate`: audio from an unconditional (or speaker-conditioned) model.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate audio clips from a model checkpoint.",
        discussion: "For models without mel conditioning (a WaveNet trained on the digits corpus, for example). --count clips are generated together as one batch.")

    @Option(name: .shortAndLong, help: "Model checkpoint (.safetensors).") var checkpoint: String
    @Option(parsing: .unconditional, help: "Seconds per clip (at most 600).") var seconds: Double = 1
    @Option(name: .shortAndLong, help: "Output audio; with --count > 1, clips are numbered (out-1.wav, …).") var output: String
    @Option(parsing: .unconditional, help: "Number of clips, generated together as one batch (at most 64).") var count: Int = 1
    @Option(parsing: .unconditional, help: "Sampling temperature (1: the model's distribution; lower: more conservative).") var temperature: Float = 1
    @Option(parsing: .unconditional, help: "Speaker for speaker-conditioned models: an id (default 0) or a name from the training corpus (e.g. p225).") var speaker: String?
    @Option(parsing: .unconditional, help: "Random seed (same seed, same audio).", transform: CommonOptions.seed) var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Sample rate written to the file (Hz; default: the rate the checkpoint was trained at, else 16000). It labels the samples, it does not resample: another rate than the model's changes speed and pitch, and --seconds counts at this rate.") var sampleRate: Int?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if !(seconds > 0 && seconds <= 600) { throw ValidationError("--seconds must be in (0, 600], got \(seconds).") }
        if let sampleRate, sampleRate < 1000 || sampleRate > 384_000 {
            throw ValidationError("--sample-rate must be between 1000 and 384000 Hz, got \(sampleRate).")
        }
        if count < 1 || count > 64 { throw ValidationError("--count must be between 1 and 64, got \(count).") }
        if !(temperature > 0 && temperature.isFinite) {
            throw ValidationError("--temperature must be a positive number (1 samples the model's distribution), got \(temperature).")
        }
        if !SoundFile.writableExtensions.contains(URL(fileURLWithPath: output).pathExtension.lowercased()) {
            throw ValidationError("--output '\(output)' needs an audio extension such as .wav.")
        }
    }

    func run() throws {
        try reportingErrors {
            common.apply()
            // Numbered beside -o as the user wrote it (relative stays relative).
            let (stem, ext) = ((output as NSString).deletingPathExtension, (output as NSString).pathExtension)
            let paths = count == 1 ? [output] : (1...count).map { "\(stem)-\($0).\(ext)" }
            for path in paths { try AtomicFile.checkDestination(path) }
            let model = try NeuralVocoding.waveNet(checkpoint)
            let c = model.config
            if c.cinChannels != nil {
                throw NNError.invalidConfig("'\(checkpoint)' is a mel-conditioned vocoder; use `wavekit vocode --checkpoint \(checkpoint) MEL.npy`.")
            }
            let speakers = try NeuralVocoding.speakers(for: model, speaker, count: count, checkpoint: checkpoint)
            let trained = try Int(Safetensors.read(checkpoint).metadata["wavekit.sample_rate"] ?? "")
            let rate = sampleRate ?? trained ?? 16000
            for path in paths { try SoundFile.checkWritable(path, sampleRate: rate) }
            if let sampleRate, let trained, sampleRate != trained {
                common.note("note: the model was trained at \(trained) Hz; --sample-rate \(sampleRate) changes the playback speed and pitch, not the model")
            }
            let samples = Int(seconds * Double(rate))
            guard samples >= 1 else { throw ValidationError("--seconds \(seconds) is less than one sample at \(rate) Hz.") }
            let progress = ProgressLine("generating", total: samples, unit: "samples", enabled: !common.quiet)
            let clips = WaveNetGenerator(model: model, batch: count)
                .generate(samples: samples, mel: nil, speakers: speakers, temperature: temperature, seed: seed,
                          threads: Threading.threads) { done, _ in progress.update(done) }
            for (clip, path) in zip(clips, paths) {
                try SoundFile.write(Audio(mono: clip, sampleRate: rate), to: path,
                                    comment: "WaveKit generate checkpoint=\(URL(fileURLWithPath: checkpoint).lastPathComponent) seed=\(seed) temperature=\(temperature)")
                common.note("wrote \(path)")
            }
        }
    }
}

/// `wavekit score`: the model's teacher-forced likelihood of audio.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Negative log-likelihood of audio under a model (teacher-forced).",
        discussion: "Mel-conditioned models use --mel or the mel of the audio computed with the checkpoint's preset. Bits per sample are nats / ln 2.")

    @Option(name: .shortAndLong, help: "Model checkpoint (.safetensors).") var checkpoint: String
    @Argument(help: "Audio file.") var audio: String
    @Option(help: "Mel-spectrogram (.npy) to condition on instead of the audio's own.") var mel: String?
    @Option(parsing: .unconditional, help: "Speaker for speaker-conditioned WaveNets: an id (default 0) or a name from the training corpus (e.g. p225).") var speaker: String?
    @Flag(help: "Print one JSON object (nll_per_sample, bits_per_sample, samples).") var json = false
    @OptionGroup var common: CommonOptions

    func run() throws {
        try reportingErrors {
            common.apply()
            // A NumPy array given as the audio, by its content (audio named .npy is named as such later).
            if FileSignature.kind(ofFile: audio) == .numpy {
                throw ValidationError("'\(audio)' is a mel-spectrogram, not audio: score takes the audio it scores, and a mel to condition on with --mel (`wavekit score -c CKPT AUDIO --mel \(audio)`).")
            }
            if try WaveNet.family(ofCheckpoint: checkpoint) == WaveGlow.family {
                if speaker != nil { throw ValidationError("--speaker does not apply to '\(checkpoint)', a WaveGlow (it has no speakers). Drop it.") }
                return try scoreWaveGlow()
            }
            let model = try NeuralVocoding.waveNet(checkpoint)
            let speakers = try NeuralVocoding.speakers(for: model, speaker, count: 1, checkpoint: checkpoint)
            var samples: [Float]
            var m: Tensor?
            if model.config.cinChannels == nil, mel != nil {
                throw ValidationError("--mel does not apply to '\(checkpoint)', an unconditional WaveNet (it takes no mel). Drop it.")
            }
            if model.config.cinChannels != nil {
                let (computed, preset, loaded) = try NeuralVocoding.mel(for: audio, model: model, checkpoint: checkpoint, note: common.note)
                samples = loaded ?? []
                m = computed
                if let mel {
                    let (given, _, _) = try NeuralVocoding.mel(for: mel, model: model, checkpoint: checkpoint, note: common.note)
                    try Self.checkLength(of: given, mel: mel, against: computed, audio: audio)
                    m = given
                }
                // Whole frames only: the mel's frames cover frames · hop samples.
                let frames = Swift.min(samples.count / preset.hopLength, m!.shape[1] - 1)
                guard frames >= 1 else {
                    throw AudioIOError.invalidArgument("'\(audio)' is too short to score: it needs more than \(preset.hopLength) samples (one mel frame) and a mel of at least 2 frames.")
                }
                samples = Array(samples.prefix(frames * preset.hopLength))
                m = m!.sliced(axis: 1, end: frames)
            } else {
                var read = try SoundFile.read(audio, mixDown: true)
                if let trained = try Int(Safetensors.read(checkpoint).metadata["wavekit.sample_rate"] ?? ""), read.sampleRate != trained {
                    common.note("resampling \(read.sampleRate) Hz → \(trained) Hz (the rate the model was trained at)")
                    read = try Resampler.resample(read, to: trained)
                }
                samples = read.monoSamples
            }
            guard samples.count > 1 else { throw AudioIOError.emptyAudio(audio) }
            let nll = withoutGradient {
                model.negativeLogLikelihood(audio: Tensor(shape: [1, samples.count], scalars: samples),
                                            mel: m?.unsqueezed(axis: 0), speakers: speakers).item
            }
            printResult(nll: nll, samples: samples.count)
        }
    }

    /// WaveGlow's exact likelihood: audio cropped to whole groups the mel covers.
    private func scoreWaveGlow() throws {
        let model = try WaveGlow.load(checkpoint)
        let (computed, preset, loaded) = try NeuralVocoding.checkMel(audio, checkpoint: checkpoint, presetName: model.config.melPreset,
                                                                     bands: model.config.nMelChannels, hop: model.config.hopLength)
        var m = computed
        if let mel {
            let given = try NeuralVocoding.checkMel(mel, checkpoint: checkpoint, presetName: preset.name, bands: model.config.nMelChannels,
                                                hop: model.config.hopLength).0
            try Self.checkLength(of: given, mel: mel, against: computed, audio: audio)
            m = given
        }
        let samples = loaded ?? []
        let g = model.config.nGroup
        let n = Swift.min(samples.count, m.shape[1] * preset.hopLength) / g * g
        // At least one mel frame of audio, as for a WaveNet (a shorter clip's mel is mostly padding).
        guard samples.count >= preset.hopLength, n >= g else {
            throw AudioIOError.invalidArgument("'\(audio)' is too short to score: it has \(samples.count) samples and needs at least \(preset.hopLength) (one mel frame).")
        }
        let nll = withoutGradient {
            model.negativeLogLikelihood(mel: m.unsqueezed(axis: 0), audio: Tensor(shape: [1, n], scalars: Array(samples.prefix(n)))).item
        }
        printResult(nll: nll, samples: n)
    }

    /// A --mel must be the audio's: within a frame of the count the audio's own mel has (mels
    /// from other framings differ by one at the ends), or the score is of the wrong pairing.
    static func checkLength(of given: Tensor, mel: String, against own: Tensor, audio: String) throws {
        let (g, o) = (given.shape[1], own.shape[1])
        guard abs(g - o) <= 1 else {
            throw DSPError.melMismatch("'\(mel)' has \(g) frame\(g == 1 ? "" : "s") but '\(audio)' spans \(o); pass the mel of this audio (or drop --mel to use its own).")
        }
    }

    /// Nats and bits per sample, as a line or as JSON.
    private func printResult(nll: Float, samples count: Int) {
        let bits = nll / Float(Foundation.log(2.0))
        if json {
            print(String(format: "{\"bits_per_sample\":%.6f,\"nll_per_sample\":%.6f,\"samples\":%d}", bits, nll, count))
        } else {
            print(String(format: "%@: %.4f nats/sample (%.4f bits/sample) over %d samples", audio, nll, bits, count))
        }
    }
}
