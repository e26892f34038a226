import ArgumentParser
import AudioIO
import DSP
import Foundation

/// `wavekit mel`: a mel-spectrogram of an audio file, as .npy (and optionally an image).
struct Mel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute a mel-spectrogram (.npy, [n_mels, frames]) of an audio file.",
        discussion: """
        The preset fixes every setting a vocoder must agree on; the options override single \
        fields. A mel whose settings differ from its preset's is recorded as PRESET+custom, \
        which vocode does not take (options that change nothing keep the preset's name). Audio at another sample rate is resampled (libsoxr) to the preset's; stereo is \
        mixed down. The .npy header records the preset and every setting (`wavekit info \
        OUT.npy` shows them; NumPy ignores the comment).

        Presets: tacotron2 (22050 Hz, n_fft 1024, hop 256, 80 Slaney mels 0-8000 Hz, \
        ln(max(x, 1e-5)): NVIDIA Tacotron 2 / WaveGlow), 16k (16 kHz, hop 200, win 800), r9y9 \
        (r9y9/wavenet_vocoder's normalised dB mels, 125-7600 Hz), torchaudio \
        (torchaudio.transforms.MelSpectrogram defaults: HTK, power 2, 128 mels).
        """)

    @Argument(help: "Input audio (any format libsndfile reads).")
    var input: String
    @Option(name: .shortAndLong, help: "Output .npy file.")
    var output: String
    @Option(help: "Mel preset: \(MelPreset.all.map(\.name).joined(separator: ", ")).")
    var preset: String = "tacotron2"
    @Option(name: .customLong("n-fft"), parsing: .unconditional, help: "FFT size.") var nFFT: Int?
    @Option(parsing: .unconditional, help: "Samples between frames.") var hopLength: Int?
    @Option(parsing: .unconditional, help: "Window length (≤ n_fft).") var winLength: Int?
    @Option(parsing: .unconditional, help: "Number of mel bands.") var nMels: Int?
    @Option(parsing: .unconditional, help: "Lowest filter frequency (Hz).") var fmin: Double?
    @Option(parsing: .unconditional, help: "Highest filter frequency (Hz).") var fmax: Double?
    @Flag(help: "Use the HTK mel scale instead of Slaney's.") var htk = false
    @Option(help: "Also write a spectrogram image (.png).") var png: String?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if !output.lowercased().hasSuffix(".npy") { throw ValidationError("--output must end in .npy (got '\(output)').") }
        if let png, !png.lowercased().hasSuffix(".png") { throw ValidationError("--png must end in .png (got '\(png)').") }
        if AtomicFile.samePath(output, input) || png.map({ AtomicFile.samePath($0, input) }) == true { throw ValidationError("an output would overwrite the input '\(input)'.") }
        guard let base = try? MelPreset.named(preset) else {
            throw ValidationError("unknown --preset '\(preset)'; use one of \(MelPreset.all.map(\.name).joined(separator: ", ")).")
        }
        if let nFFT, !(2...Self.maxFFT).contains(nFFT) || nFFT % 2 != 0 {
            throw ValidationError("--n-fft must be an even number from 2 to \(Self.maxFFT), got \(nFFT).")
        }
        for (name, value, limit) in [("--hop-length", hopLength, Self.maxFFT), ("--win-length", winLength, Self.maxFFT), ("--n-mels", nMels, Self.maxMels)] {
            if let value, !(1...limit).contains(value) { throw ValidationError("\(name) must be from 1 to \(limit), got \(value).") }
        }
        let fftSize = nFFT ?? base.nFFT
        if let winLength, winLength > fftSize {
            throw ValidationError("--win-length (\(winLength)) must not exceed the FFT size (\(fftSize)\(nFFT == nil ? ", the \(base.name) preset's" : "")); raise --n-fft too.")
        }
        if let fmin, !(fmin >= 0 && fmin.isFinite) { throw ValidationError("--fmin must be a frequency ≥ 0 Hz, got \(fmin).") }
        if let fmax, !(fmax > 0 && fmax.isFinite) { throw ValidationError("--fmax must be a positive frequency, got \(fmax).") }
        let nyquist = Double(base.sampleRate) / 2
        if let fmax, fmax > nyquist { throw ValidationError("--fmax (\(fmax) Hz) must not exceed half the \(base.name) preset's \(base.sampleRate) Hz rate, \(nyquist) Hz.") }
        let low = fmin ?? base.fMin, high = fmax ?? base.fMax ?? nyquist
        if low >= high {
            throw ValidationError("--fmin (\(low) Hz\(fmin == nil ? ", the \(base.name) preset's" : "")) must be below --fmax (\(high) Hz\(fmax == nil ? ", the \(base.name) preset's" : "")).")
        }
    }

    /// The largest FFT, hop and window the options take (2^16 samples: about 3 s at 22 050 Hz).
    static let maxFFT = 65536
    /// The most mel bands the options take.
    static let maxMels = 4096

    func run() throws {
        try reportingErrors {
            common.apply()
            for path in [output] + (png.map { [$0] } ?? []) { try AtomicFile.checkDestination(path) }
            var p = try MelPreset.named(preset)
            let named = p
            if let nFFT { p.nFFT = nFFT; p.winLength = Swift.min(p.winLength, nFFT) }
            if let hopLength { p.hopLength = hopLength }
            if let winLength { p.winLength = winLength }
            if let nMels { p.nMels = nMels }
            if let fmin { p.fMin = fmin }
            if let fmax { p.fMax = fmax }
            if htk { p.scale = .htk }
            // Options that leave every setting as the preset has it keep its name, so vocoders
            // trained on the preset still take the mel; any real change marks it custom.
            // (An unset fmax is Nyquist: --fmax at Nyquist changes nothing.)
            var unchanged = named
            if unchanged.fMax == nil && p.fMax == Double(p.sampleRate) / 2 { unchanged.fMax = p.fMax }
            if p != unchanged { p.name += "+custom" }
            let extractor = try MelSpectrogram(preset: p)
            if extractor.filterbank.emptyBands > 0 {
                common.note("note: \(extractor.filterbank.emptyBands) of the \(p.nMels) mel bands hold no FFT bin and stay at the floor; lower --n-mels or raise --n-fft")
            }
            var audio = try SoundFile.read(input, mixDown: true)
            if audio.sampleRate != p.sampleRate {
                common.note("resampling \(audio.sampleRate) Hz → \(p.sampleRate) Hz (the \(preset) preset's rate)")
                audio = try Resampler.resample(audio, to: p.sampleRate)
            }
            let samples = audio.monoSamples
            guard samples.count >= 1 else { throw AudioIOError.emptyAudio(input) }
            let features = extractor(samples)
            try NPY.write(features, to: output, metadata: p.metadata)
            common.note("wrote \(output): [\(features.shape[0]), \(features.shape[1])] (\(p.name))")
            if let png {
                let (values, range) = p.displayValues(features)
                try SpectrogramImage.render(values, dynamicRange: range).write(to: png, text: ["Software": "WaveKit", "Comment": p.summary])
                common.note("wrote \(png)")
            }
        }
    }
}
