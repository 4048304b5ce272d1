using System.Runtime.InteropServices;
using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;
using Broker.Server.Dispatch;
using Broker.Storage;

namespace Broker.Server.Handlers;

/// <summary>
/// Produce (0): validates each partition's batch, appends it as leader with offsets assigned in place
/// (the request buffer is the write buffer), and answers per partition. acks=0 sends nothing and closes
/// the connection if anything failed, as Kafka does. acks=all is refused with NOT_ENOUGH_REPLICAS while the ISR is below
/// min.insync.replicas, and otherwise answered once the high watermark passes the batch (at once with one replica;
/// after the followers fetched it with more) or timeout_ms passed. A topic compression.type other than "producer" makes the leader
/// re-encode the batch with that codec. Thread-safe.
/// </summary>
internal sealed class ProduceHandler : ApiHandler<ProduceRequest, ProduceResponse>
{
    private readonly BrokerServices _services;

    public ProduceHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 0;

    // v0-v2 are advertised (librdkafka derives features from ranges starting at 0) but refused, like Kafka 4.
    public override short MinVersion => 0;

    public override short MaxVersion => 11;

    protected override ValueTask<ProduceResponse?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken)
    {
        var response = new ProduceResponse();
        var acks = request.Acks;
        var anyError = false;
        var nowMs = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        List<(Partition Partition, long RequiredOffset, ProduceResponse.PartitionProduceResponse Result)>? waiting = null;
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name };
            response.Responses.Add(topicResponse);
            foreach (var partitionData in topicData.PartitionData)
            {
                var partitionResponse = new ProduceResponse.PartitionProduceResponse { Index = partitionData.Index, BaseOffset = -1 };
                topicResponse.PartitionResponses.Add(partitionResponse);
                var (error, message) = AppendOne(context, acks, topicData.Name, partitionData, nowMs, partitionResponse, out var appendedTo, out var requiredOffset);
                partitionResponse.ErrorCode = (short)error;
                partitionResponse.ErrorMessage = message;
                anyError |= error != ErrorCode.None;
                if (error == ErrorCode.None && acks == -1 && appendedTo!.Log.HighWatermark < requiredOffset)
                {
                    (waiting ??= []).Add((appendedTo, requiredOffset, partitionResponse));
                }
            }
        }

        if (acks == 0)
        {
            context.CloseConnection = anyError;
            return ValueTask.FromResult<ProduceResponse?>(null);
        }

        if (waiting is null)
        {
            return ValueTask.FromResult<ProduceResponse?>(response);
        }

        // Everything is appended; only the answer waits, so the connection may append the next produce meanwhile.
        context.ResponseDeferrable = true;
        return WaitForReplicasAsync(response, waiting, request.TimeoutMs, cancellationToken);
    }

    /// <summary>
    /// acks=all (Kafka's DelayedProduce): each appended partition answers once its high watermark passes the batch, or
    /// with REQUEST_TIMED_OUT when timeout_ms passes first (the records stay in the leader's log, as in Kafka).
    /// </summary>
    private async ValueTask<ProduceResponse?> WaitForReplicasAsync(
        ProduceResponse response,
        List<(Partition Partition, long RequiredOffset, ProduceResponse.PartitionProduceResponse Result)> waiting,
        int timeoutMs,
        CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, timeoutMs)));
        foreach (var (partition, requiredOffset, result) in waiting)
        {
            try
            {
                var error = await partition.WaitForHighWatermarkAsync(requiredOffset, timeout.Token).ConfigureAwait(false);
                if (error != ErrorCode.None)
                {
                    result.ErrorCode = (short)error;
                    result.ErrorMessage = error == ErrorCode.NotEnoughReplicasAfterAppend
                        ? $"The ISR of {partition.Topic}-{partition.Index} shrank below min.insync.replicas after the append."
                        : null;
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                result.ErrorCode = (short)ErrorCode.RequestTimedOut;
                result.ErrorMessage = $"The in-sync replicas of {partition.Topic}-{partition.Index} did not acknowledge within {timeoutMs} ms.";
            }
        }

        return response;
    }

    private (ErrorCode Error, string? Message) AppendOne(
        RequestContext context,
        short acks,
        string topic,
        ProduceRequest.PartitionProduceData data,
        long nowMs,
        ProduceResponse.PartitionProduceResponse result,
        out Partition? appendedTo,
        out long requiredOffset)
    {
        appendedTo = null;
        requiredOffset = -1;
        if (context.ApiVersion < 3)
        {
            return (ErrorCode.UnsupportedVersion, "Produce requests below version 3 are not supported.");
        }

        if (acks is not (-1 or 0 or 1))
        {
            return (ErrorCode.InvalidRequiredAcks, null);
        }

        if (_services.Replicas.Get(topic, data.Index) is not { } partition)
        {
            return (ErrorCode.UnknownTopicOrPartition, null);
        }

        // As Kafka's TotalProduceRequestsPerSec: every partition of a request for a hosted topic, failed or not.
        var meters = _services.Metrics.Topic(topic);
        meters.ProduceRequests.Inc();
        if (!partition.IsLeader)
        {
            return (ErrorCode.NotLeaderOrFollower, null);
        }

        if (TopicNames.IsInternal(topic) && context.ClientId != "__admin_client")
        {
            return (ErrorCode.InvalidTopicException, $"Cannot append to internal topic {topic}");
        }

        if (data.Records is not { Length: > 0 } records)
        {
            return (ErrorCode.InvalidRecord, "Produce request has no record batch.");
        }

        var config = partition.Config;
        if (records.Length > config.SegmentBytes)
        {
            return (ErrorCode.RecordListTooLarge, $"Message batch size is {records.Length} bytes which exceeds the maximum configured segment size of {config.SegmentBytes}.");
        }

        var validation = RecordBatchValidator.Validate(records.Span, config.MaxMessageBytes);
        if (validation.Error != ErrorCode.None)
        {
            return (validation.Error, validation.ErrorMessage);
        }

        if (validation.Compression == CompressionType.Zstd && context.ApiVersion < 7)
        {
            return (ErrorCode.UnsupportedCompressionType, "Produce requests with zstd compression need version 7 or later.");
        }

        if (RecordBatchHeader.IsTransactional(records.Span))
        {
            // Kafka verifies that a transactional batch's partition was added to the producer's transaction
            // (KIP-890); with no transaction coordinator here no partition ever is.
            return (ErrorCode.InvalidTxnState,
                $"Producer {RecordBatchHeader.ProducerId(records.Span)} has no ongoing transaction with {topic}-{data.Index}: this broker runs no transaction coordinator yet.");
        }

        if (CheckTimestamps(validation, config, nowMs) is { } timestampError)
        {
            return (ErrorCode.InvalidTimestamp, timestampError);
        }

        if (acks == -1 && !partition.HasEnoughReplicasForAcksAll(out var isrSize, out var minIsr))
        {
            return (ErrorCode.NotEnoughReplicas,
                $"The size of the current ISR ({isrSize}) is insufficient to satisfy the min.isr requirement of {minIsr} for partition {topic}-{data.Index}.");
        }

        // The frame buffer belongs to this request; rewriting offsets in it avoids another copy.
        var writable = MemoryMarshal.AsMemory(records);
        KafkaWriter? recompressed = null;
        AppendResult appended;
        try
        {
            if (config.TargetCompression is { } target && target != validation.Compression)
            {
                // compression.type names a codec: the leader stores the batch re-encoded with it, as Kafka does.
                recompressed = new KafkaWriter(records.Length + 1024);
                var size = RecordBatchRecompressor.Recompress(records.Span, target, recompressed);
                if (size > config.MaxMessageBytes)
                {
                    return (ErrorCode.MessageTooLarge, $"The batch is {size} bytes after recompression with {target}, above max.message.bytes {config.MaxMessageBytes}.");
                }

                writable = MemoryMarshal.AsMemory(recompressed.WrittenMemory);
            }

            appended = partition.AppendAsLeader(writable, nowMs, wakeInline: true);
        }
        catch (IOException e)
        {
            // The log keeps only whole batches (a failed write is cut back); the client may retry.
            return (ErrorCode.KafkaStorageError, $"Append to {topic}-{data.Index} failed: {e.Message}");
        }
        finally
        {
            recompressed?.Dispose();
        }

        if (appended.Error != ErrorCode.None)
        {
            return (appended.Error, appended.ErrorMessage);
        }

        // A producer's retry of a stored batch is answered, not stored again, so it is not counted again either.
        if (!appended.Duplicate)
        {
            meters.MessagesIn.Inc(validation.RecordCount);
            meters.BytesIn.Inc(records.Length);
        }

        appendedTo = partition;
        requiredOffset = appended.LastOffset + 1;
        result.BaseOffset = appended.FirstOffset;
        result.LogAppendTimeMs = appended.LogAppendTimeMs;
        result.LogStartOffset = appended.LogStartOffset;
        return (ErrorCode.None, null);
    }

    // Kafka's LogValidator rules: producers may not claim LogAppendTime, and on CreateTime topics every record
    // timestamp (other than -1, "none") must lie within [now - before.max.ms, now + after.max.ms].
    private static string? CheckTimestamps(in RecordBatchValidationResult validation, LogConfig config, long nowMs)
    {
        if (validation.TimestampType == TimestampType.LogAppendTime)
        {
            return "Producers may not set the timestamp type of a record batch to LogAppendTime.";
        }

        if (config.LogAppendTime || validation.MinTimestamp == long.MaxValue)
        {
            return null;
        }

        var earliest = config.MessageTimestampBeforeMaxMs >= nowMs ? long.MinValue : nowMs - config.MessageTimestampBeforeMaxMs;
        var latest = config.MessageTimestampAfterMaxMs > long.MaxValue - nowMs ? long.MaxValue : nowMs + config.MessageTimestampAfterMaxMs;
        if (validation.MinTimestamp < earliest || validation.MaxTimestamp > latest)
        {
            var offending = validation.MinTimestamp < earliest ? validation.MinTimestamp : validation.MaxTimestamp;
            return $"Timestamp {offending} of a record is out of range. The timestamp should be within [{earliest}, {latest}].";
        }

        return null;
    }
}
