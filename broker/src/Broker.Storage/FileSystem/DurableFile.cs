using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Broker.Storage.FileSystem;

/// <summary>
/// fsync helpers and crash-safe small-file replacement, for the logs' checkpoints and the Raft quorum-state file.
/// Stateless; thread-safe (callers serialise writers of the same path).
/// </summary>
public static partial class DurableFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Opens a data file for positional reads and writes. FileShare.Delete lets a log directory be renamed
    /// or deleted while fetches still hold segment handles (matters on Windows only).</summary>
    public static SafeFileHandle OpenReadWrite(string path, FileMode mode) =>
        File.OpenHandle(path, mode, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="content"/> so that after a crash the file holds either
    /// the old or the new content: write <c>path.tmp</c>, fsync it, rename over the target, fsync the directory.
    /// </summary>
    public static void WriteAtomically(string path, string content) => WriteAtomically(path, Utf8NoBom.GetBytes(content));

    /// <inheritdoc cref="WriteAtomically(string, string)"/>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var tmp = path + ".tmp";
        using (var handle = File.OpenHandle(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(handle, bytes, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(tmp, path, overwrite: true);
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static string ReadAllText(string path) => File.ReadAllText(path, Utf8NoBom);

    /// <summary>Deletes a file and makes the removal durable.</summary>
    public static void DeleteDurably(string path)
    {
        File.Delete(path);
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>
    /// fsyncs a directory so that file creations, renames and deletions in it survive a power loss. .NET cannot open
    /// a directory as a file, hence the libc calls. On Windows this is a no-op: NTFS journals metadata and a
    /// directory handle cannot be flushed without backup privileges.
    /// </summary>
    public static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = Native.Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Native.FSync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        internal static partial int FSync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }
}
