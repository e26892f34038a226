import NN
import TensorCore

/// A batch of training data: audio [B, T] in [-1, 1], mel [B, nMels, frames] aligned with it
/// (frame f covers samples f·hop …), and per-item speaker and class ids.
public struct Batch: @unchecked Sendable {
    public let audio: Tensor
    public let mel: Tensor?
    public let speakers: [Int]
    public let labels: [Int]

    public init(audio: Tensor, mel: Tensor?, speakers: [Int], labels: [Int]) {
        self.audio = audio; self.mel = mel; self.speakers = speakers; self.labels = labels
    }
}

/// What the training loop needs from a model family: its parameters, how to compute the
/// loss of a batch, and what a checkpoint must record to rebuild it.
public struct TrainingTask {
    /// The model.
    public let module: any Module
    /// Its family name, recorded in checkpoints.
    public let family: String
    /// Its configuration as JSON, recorded in checkpoints.
    public let configJSON: String
    /// The mel preset the model is conditioned on, if any.
    public let melPreset: String?
    /// The mean loss of a batch (what is minimised and logged).
    public let loss: (Batch) -> Tensor
    /// Optionally, audio generated from a batch for the logs: (samples, sample rate).
    public let preview: ((Batch) -> ([Float], Int))?

    public init(module: any Module, family: String, configJSON: String, melPreset: String?,
                loss: @escaping (Batch) -> Tensor, preview: ((Batch) -> ([Float], Int))? = nil) {
        self.module = module; self.family = family; self.configJSON = configJSON
        self.melPreset = melPreset; self.loss = loss; self.preview = preview
    }
}
