namespace Broker.Protocol.Records;

/// <summary>
/// Per-topic limits for <see cref="RecordBatchValidator"/>. Immutable; thread-safe.
/// </summary>
/// <param name="MaxMessageBytes">Topic max.message.bytes: the largest whole batch (compressed size, header included).</param>
/// <param name="MaxUncompressedBytes">
/// Cap on the decompressed records section of a compressed batch. Kafka has no such limit; it exists so a
/// decompression bomb cannot exhaust memory. Exceeding it is reported as MESSAGE_TOO_LARGE, which makes the Java
/// producer split the batch and retry.
/// </param>
/// <param name="RequireKeys">True for compacted topics, where a record without a key is INVALID_RECORD.</param>
public readonly record struct RecordBatchLimits(
    int MaxMessageBytes,
    int MaxUncompressedBytes = RecordCompression.DefaultMaxDecompressedBytes,
    bool RequireKeys = false)
{
    /// <summary>Kafka's default message.max.bytes.</summary>
    public const int DefaultMaxMessageBytes = 1048588;

    public static RecordBatchLimits Default => new(DefaultMaxMessageBytes);
}

/// <summary>
/// Outcome of validating one partition's records from a ProduceRequest: either <see cref="ErrorCode.None"/> with
/// a summary of the batch, or a Kafka error code with the text for the response's ErrorMessage.
/// Immutable; thread-safe.
/// </summary>
public readonly struct RecordBatchValidationResult
{
    public ErrorCode Error { get; init; }

    /// <summary>Human-readable reason, for the partition's ErrorMessage; null when <see cref="IsValid"/>.</summary>
    public string? ErrorMessage { get; init; }

    public bool IsValid => Error == ErrorCode.None;

    /// <summary>Number of batches found: 1 when valid (Produce v3+ allows exactly one per partition).</summary>
    public int BatchCount { get; init; }

    /// <summary>Records counted while walking the batch (equals the header's recordsCount when valid).</summary>
    public int RecordCount { get; init; }

    /// <summary>Size of the whole batch in bytes, header included.</summary>
    public int BatchSize { get; init; }

    /// <summary>Size of the records section after decompression (the stored size when uncompressed).</summary>
    public int UncompressedRecordsSize { get; init; }

    public CompressionType Compression { get; init; }

    public TimestampType TimestampType { get; init; }

    /// <summary>
    /// Largest record timestamp for CreateTime; for LogAppendTime the header's maxTimestamp (every record's
    /// timestamp by definition).
    /// </summary>
    public long MaxTimestamp { get; init; }

    /// <summary>
    /// Smallest non-negative record timestamp (records without a timestamp, -1, are skipped as Kafka's timestamp
    /// bounds checks skip them); <see cref="long.MaxValue"/> if there is none.
    /// </summary>
    public long MinTimestamp { get; init; }

    public int FirstOffsetDelta { get; init; }

    public int LastOffsetDelta { get; init; }

    internal static RecordBatchValidationResult Failed(ErrorCode error, string message, int batchCount = 0) =>
        new() { Error = error, ErrorMessage = message, BatchCount = batchCount };
}
