import DSP

/// Mel preset lookup for commands (errors list the known presets).
enum DSPPresetLookup {
    static func preset(_ name: String) throws -> MelPreset { try MelPreset.named(name) }
}
