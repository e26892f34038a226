import Foundation

/// An exclusive lock on a run folder (`flock` on its `.lock` file), held by a training run
/// while it runs so that a second run (or a second `--resume`) in the same folder is refused
/// instead of overwriting the first one's checkpoints. The lock file records the holder's
/// process id for the message; the kernel drops the lock when the holder exits, however it exits.
public final class RunFolderLock {
    public let path: String
    private var fd: Int32

    /// Takes the lock, or throws naming the process that holds it.
    public init(folder: String) throws {
        path = folder + "/.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TrainingError.io("cannot open the run folder's lock file '\(path)': \(String(cString: strerror(errno))).")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.holder(fd)
            close(fd); fd = -1
            throw TrainingError.recipe("another training run\(holder.map { " (process \($0))" } ?? "") is using the run folder '\(folder)'; wait for it to finish or stop it, or pass another folder to --out.")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// Throws if another process holds `folder`'s lock (a quick check before long work; the
    /// run itself takes the lock).
    public static func checkFree(_ folder: String) throws {
        guard FileManager.default.fileExists(atPath: folder + "/.lock") else { return }
        _ = try RunFolderLock(folder: folder)
    }

    /// Releases the lock (also on deinit).
    public func release() {
        if fd >= 0 { flock(fd, LOCK_UN); close(fd); fd = -1 }
    }

    deinit { release() }

    private static func holder(_ fd: Int32) -> Int? {
        var buffer = [CChar](repeating: 0, count: 32)
        let n = pread(fd, &buffer, 31, 0)
        guard n > 0 else { return nil }
        return Int(String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
