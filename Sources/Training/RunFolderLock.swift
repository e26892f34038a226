import Foundation

/// An exclusive lock on a run folder (`flock` on its `.lock` file), held by a training run so
/// that a second run (or a second `--resume`) in the same folder is refused instead of
/// overwriting the first one's checkpoints. Within one process the lock is shared: taking it
/// again for a folder the process already holds succeeds (library code may prepare a run
/// twice), and the folder is released when the last holder releases it. The lock file records
/// the holder's process id for the message; the kernel drops the lock when the holder exits,
/// however it exits. On a file system that cannot lock (`ENOLCK`, `EOPNOTSUPP`), runs go on
/// unlocked.
public final class RunFolderLock {
    public let folder: String
    private let key: String
    private var held = false

    private static let mutex = NSLock()
    nonisolated(unsafe) private static var holders: [String: (fd: Int32, count: Int)] = [:]

    /// Takes the lock (trying for `patience` seconds, so that another process's brief check
    /// does not refuse a run), or throws naming the process that holds it. `recordingProcess`:
    /// write this process's id into the lock file (a brief check does not).
    public init(folder: String, recordingProcess: Bool = true, patience: TimeInterval = 1) throws {
        self.folder = folder
        let path = folder + "/.lock"
        key = URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path
        Self.mutex.lock()
        defer { Self.mutex.unlock() }
        if let h = Self.holders[key] { Self.holders[key] = (h.fd, h.count + 1); held = true; return }
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 && errno == EACCES { fd = open(path, O_RDONLY | O_CLOEXEC) }   // another user's lock file
        guard fd >= 0 else {
            throw TrainingError.io("cannot open the run folder's lock file '\(path)': \(String(cString: strerror(errno))).")
        }
        let deadline = Date().addingTimeInterval(patience)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            if failure == EINTR { continue }
            guard failure == EWOULDBLOCK else { close(fd); return }          // cannot lock here: go on unlocked
            if Date() < deadline { usleep(50_000); continue }
            let holder = Self.holder(fd)
            close(fd)
            throw TrainingError.recipe("another training run\(holder.map { " (process \($0))" } ?? "") is using the run folder '\(folder)'; wait for it to finish or stop it, or pass another folder to --out.")
        }
        if recordingProcess {
            let pid = "\(getpid())\n"
            if ftruncate(fd, 0) == 0 { _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) } }
        }
        Self.holders[key] = (fd, 1)
        held = true
    }

    /// Throws if another process holds `folder`'s lock (a quick check, recording nothing).
    public static func checkFree(_ folder: String) throws {
        guard FileManager.default.fileExists(atPath: folder + "/.lock") else { return }
        try RunFolderLock(folder: folder, recordingProcess: false, patience: 0).release()
    }

    /// Releases this hold (also on deinit); the folder is unlocked when no hold is left.
    public func release() {
        Self.mutex.lock()
        defer { Self.mutex.unlock() }
        guard held else { return }
        held = false
        guard let h = Self.holders[key] else { return }
        if h.count > 1 { Self.holders[key] = (h.fd, h.count - 1); return }
        Self.holders[key] = nil
        flock(h.fd, LOCK_UN)
        close(h.fd)
    }

    deinit { release() }

    private static func holder(_ fd: Int32) -> Int? {
        var buffer = [CChar](repeating: 0, count: 32)
        let n = pread(fd, &buffer, 31, 0)
        guard n > 0 else { return nil }
        return Int(String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
