import ArgumentParser
import AudioIO
import DSP
import Foundation
import TensorCore

extension Bench {
    /// `wavekit bench audio`: the spectral front end on tools/bench/audio_cases.json.
    struct AudioFrontEnd: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audio",
            abstract: "Audio front-end benchmark: log-mel, Griffin-Lim and WAV reading.",
            discussion: "tools/bench/run.sh --suite audio runs this beside librosa, torch and python-soundfile.")

        @Option(help: "The benchmark cases (JSON; the default is relative to the repository root, where the command runs).")
        var cases: String = "tools/bench/audio_cases.json"
        @Option(help: "The audio file the cases use (tools/bench/audio_bench.py --make-audio PATH makes one).")
        var audio: String = "bench-results/bench60s.wav"
        @Option(parsing: .unconditional, help: "Threads for WaveKit's kernels and OpenBLAS.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        @Option(parsing: .unconditional, help: "Timed runs per case; the median is reported.")
        var repeats: Int = 10
        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads).") }
            if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats).") }
            if !FileManager.default.fileExists(atPath: cases) {
                throw ValidationError("the cases file '\(cases)' was not found; run from the repository root or pass --cases PATH.")
            }
            if !FileManager.default.fileExists(atPath: audio) {
                throw ValidationError("the audio file '\(audio)' was not found; make it with tools/bench/run.sh --suite audio (or .venv-tools/bin/python tools/bench/audio_bench.py --make-audio \(audio)), or pass --audio PATH.")
            }
        }

        struct Case: Decodable {
            let name: String
            let kind: String
            var seconds: Double?
            var n_fft: Int?, hop_length: Int?, win_length: Int?, n_mels: Int?
            var fmin: Double?, fmax: Double?, log_floor: Float?
            var n_iter: Int?, momentum: Float?, seed: UInt64?
        }
        struct File: Decodable { let cases: [Case] }

        func run() throws {
            Threading.setThreads(threads)
            Bench.noteForcedCore()
            // The same FFT plans the other commands use (searched once per machine).
            CommonOptions.useWisdomCache()
            let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: cases)))
            let source = try SoundFile.read(audio, mixDown: true)
            var results: [BenchResult] = []
            for c in file.cases {
                if !json { writeStandardError("  running \(c.name)…\n") }
                let n = Swift.min(source.frames, Int((c.seconds ?? source.duration) * Double(source.sampleRate)))
                let x = Array(source.monoSamples.prefix(n))
                var preset = MelPreset.tacotron2
                preset.sampleRate = source.sampleRate
                preset.nFFT = c.n_fft ?? preset.nFFT
                preset.hopLength = c.hop_length ?? preset.hopLength
                preset.winLength = c.win_length ?? preset.winLength
                preset.nMels = c.n_mels ?? preset.nMels
                preset.fMin = c.fmin ?? preset.fMin
                preset.fMax = c.fmax ?? preset.fMax
                if let floor = c.log_floor { preset.compression = .naturalLog(floor: floor) }
                let timing: (median: Double, min: Double)
                switch c.kind {
                case "logmel":
                    let mel = try MelSpectrogram(preset: preset)
                    timing = BenchTimer.measure(repeats: repeats) { _ = mel(x) }
                case "griffinlim":
                    let stft = try STFT(nFFT: preset.nFFT, hopLength: preset.hopLength, winLength: preset.winLength)
                    let gl = try GriffinLim(stft: stft, iterations: c.n_iter ?? 32, momentum: c.momentum ?? 0.99)
                    let magnitude = stft.magnitude(x)
                    timing = try BenchTimer.measure(repeats: repeats) {
                        _ = try gl.reconstruct(magnitude: magnitude, length: x.count, initialization: .random(seed: c.seed ?? 0))
                    }
                case "read_wav":
                    timing = try BenchTimer.measure(repeats: repeats) { _ = try SoundFile.read(audio) }
                default:
                    throw ValidationError("Case '\(c.name)' has unknown kind '\(c.kind)'; expected logmel, griffinlim or read_wav.")
                }
                results.append(BenchResult(name: c.name, medianMs: timing.median, minMs: timing.min, gflops: nil, gbps: nil))
            }
            try BenchOutput.print(results, threads: threads, repeats: repeats, json: json)
        }
    }
}
