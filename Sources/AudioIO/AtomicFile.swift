import Foundation
import TensorCore

/// Writes go to a temporary file beside the destination and are renamed into place, so an
/// interrupted or failed write never leaves a partial file nor destroys what was there.
public enum AtomicFile {
    /// Calls `body` with a temporary path in the destination's folder, then renames it to
    /// `path`. The temporary file is removed if `body` throws.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        try checkDestination(path)
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        // Keep the extension last: libsndfile and others pick formats from it.
        let temp = dir.appendingPathComponent(".\(url.deletingPathExtension().lastPathComponent).\(UUID().uuidString.prefix(8)).tmp.\(url.pathExtension)")
        do {
            try body(temp.path)
            if let failed = FileSync.flush(temp.path) {
                throw AudioIOError.writeFailed(path: path, reason: "flushing it to disk failed: \(failed)")
            }
            if rename(temp.path, url.path) != 0 {
                throw AudioIOError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            FileSync.flushFolder(of: url.path)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    /// Throws the error a write to `path` would meet for want of its folder, or because `path`
    /// is a folder: commands check their outputs before long work, not after it.
    public static func checkDestination(_ path: String) throws {
        try checkFolder(of: path)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw AudioIOError.writeFailed(path: path, reason: "it is a folder; name a file")
        }
    }

    /// Whether two paths name the same file: relative or absolute, through `..` and symbolic
    /// links, and hard links too when both exist (same device and inode). Commands refuse an
    /// output that is one of their inputs with it.
    public static func samePath(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0 && stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        func canonical(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        return canonical(a) == canonical(b)
    }

    /// Checks that the folder `path` would be made in exists.
    public static func checkFolder(of path: String) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw AudioIOError.writeFailed(path: path, reason: "the folder '\(dir.path)' does not exist")
        }
    }

    /// Writes `data` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { temp in
            do { try data.write(to: URL(fileURLWithPath: temp)) } catch {
                throw AudioIOError.writeFailed(path: path, reason: error.localizedDescription)
            }
        }
    }
}
