import Foundation

/// Flushing to disk what atomic writes (temporary file, then rename) rely on: the temporary
/// file's bytes before the rename, and the folder's entry after it. Without both, a power loss
/// soon after a rename can leave an empty or partial file under the final name on some file
/// systems.
public enum FileSync {
    /// fsync of the file at `path`; errors are returned as strerror text (nil: flushed).
    @discardableResult
    public static func flush(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
    }

    /// fsync of the folder holding `path`, so a rename into it is on disk (best effort).
    public static func flushFolder(of path: String) {
        flush((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
    }
}
