using Microsoft.Extensions.Logging;

namespace Broker.Storage;

/// <summary>Log messages of the storage layer (source-generated, checked against IsEnabled). Stateless; thread-safe.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "Loaded {LogCount} partition logs from {LogDir} in {ElapsedMs} ms (clean shutdown: {CleanShutdown})")]
    public static partial void LogDirLoaded(ILogger logger, int logCount, string logDir, long elapsedMs, bool cleanShutdown);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information,
        Message = "Recovering {Log} from segment {BaseOffset} (recovery point {RecoveryPoint})")]
    public static partial void RecoveringLog(ILogger logger, string log, long baseOffset, long recoveryPoint);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "Truncated segment {BaseOffset} of {Log} from {FileLength} to {ValidBytes} bytes ({Reason}); deleted {DeletedSegments} later segments")]
    public static partial void RecoveryTruncated(ILogger logger, long baseOffset, string log, long fileLength, long validBytes,
        string reason, int deletedSegments);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning,
        Message = "Indexes of segment {BaseOffset} of {Log} are missing or inconsistent; rebuilding from the log")]
    public static partial void IndexRebuild(ILogger logger, long baseOffset, string log);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Debug,
        Message = "Rolled {Log} to segment {BaseOffset} (previous segment {PreviousSize} bytes)")]
    public static partial void SegmentRolled(ILogger logger, string log, long baseOffset, int previousSize);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Created log {Log} in {Directory}")]
    public static partial void LogCreated(ILogger logger, string log, string directory);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Scheduled deletion of log {Log} as {Directory}")]
    public static partial void LogDeletionScheduled(ILogger logger, string log, string directory);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Deleted directory {Directory}")]
    public static partial void DirectoryDeleted(ILogger logger, string directory);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Ignoring {Directory}: {Reason}")]
    public static partial void DirectoryIgnored(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Ignoring checkpoint {Path}: {Reason}")]
    public static partial void CheckpointIgnored(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning,
        Message = "Log start offset {LogStartOffset} of {Log} is beyond its end {LogEndOffset}; starting an empty log there")]
    public static partial void LogStartBeyondEnd(ILogger logger, string log, long logStartOffset, long logEndOffset);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Error, Message = "Flushing {Log} failed")]
    public static partial void FlushFailed(ILogger logger, string log, Exception exception);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Error, Message = "Closing {Log} failed")]
    public static partial void CloseFailed(ILogger logger, string log, Exception exception);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information, Message = "Removed leftover file {Path}")]
    public static partial void LeftoverRemoved(ILogger logger, string path);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Information, Message = "Retention deleted {Count} segment(s) of {Log}; log start offset is now {LogStartOffset}")]
    public static partial void SegmentsRetained(ILogger logger, int count, string log, long logStartOffset);

    [LoggerMessage(EventId = 1030, Level = LogLevel.Information, Message = "Truncated {Log} from log end offset {PreviousEnd} to {NewEnd}; {RemovedSegments} later segment(s) removed")]
    public static partial void LogTruncated(ILogger logger, string log, long previousEnd, long newEnd, int removedSegments);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Error, Message = "Retention of {Log} failed")]
    public static partial void RetentionFailed(ILogger logger, string log, Exception exception);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "Ignoring unreadable producer snapshot {Path}")]
    public static partial void ProducerSnapshotCorrupt(ILogger logger, string path);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information,
        Message = "Rebuilt producer state of {Log} from offset {From} to {To}: {Batches} batches replayed, {Producers} producers")]
    public static partial void ProducerStateRebuilt(ILogger logger, string log, long from, long to, int batches, int producers);
}
