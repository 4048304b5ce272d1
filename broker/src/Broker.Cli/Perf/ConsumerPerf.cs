using Confluent.Kafka;

namespace Broker.Cli.Perf;

/// <summary>
/// The consumer perf run: assigns every partition of the topic from the beginning (no group membership, no
/// commits) and reads until the requested count, cancellation, or a quiet period of
/// <see cref="ConsumerPerfOptions.Timeout"/>. Keys and values are not copied: their sizes are taken straight
/// from the client's buffers. The run loop is owned by the calling thread; client errors arrive on its poll thread.
/// </summary>
internal sealed class ConsumerPerf(ConsumerPerfOptions options, TextWriter output, TextWriter error, TimeProvider time)
{
    private const int MaxErrorsPrinted = 10;
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);
    private long _errorsPrinted;

    public static async Task<int> RunCommandAsync(ConsumerPerfOptions options, TextWriter output, TextWriter error, CancellationToken ct)
    {
        BundledLibrdkafka.Load();
        var perf = new ConsumerPerf(options, output, error, TimeProvider.System);
        try
        {
            var total = await Task.Factory.StartNew(() => perf.Run(ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
            return total.Records >= options.Messages || ct.IsCancellationRequested ? 0 : 1;
        }
        catch (KafkaException e)
        {
            await error.WriteLineAsync($"error: {e.Error.Reason}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>Consumes and prints progress and the summary; returns the totals.</summary>
    public PerfWindow Run(CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<int, int>(options.ToConsumerConfig())
            .SetKeyDeserializer(SizeDeserializer.Instance)
            .SetValueDeserializer(SizeDeserializer.Instance)
            .SetErrorHandler((_, e) => PrintError($"client error: {e.Reason}"))
            .SetLogHandler(static (_, _) => { }) // The error handler reports what matters, without librdkafka's retry chatter.
            .Build();
        consumer.Assign(PartitionsFromBeginning(consumer));

        var meter = new ThroughputMeter(time, options.ReportInterval);
        var lastRecordAt = time.GetTimestamp();
        while (meter.Records < options.Messages && !ct.IsCancellationRequested)
        {
            var result = consumer.Consume(PollTimeout);
            PerfWindow? window;
            if (result is null || result.IsPartitionEOF)
            {
                if (time.GetElapsedTime(lastRecordAt) > options.Timeout)
                {
                    error.WriteLine($"No record for {options.Timeout.TotalMilliseconds} ms; stopping after {meter.Records} of {options.Messages} records.");
                    break;
                }

                window = meter.MaybeCloseWindow();
            }
            else
            {
                lastRecordAt = time.GetTimestamp();
                window = meter.Record(result.Message.Key + result.Message.Value);
            }

            if (window is { } w)
            {
                output.WriteLine(PerfFormat.ConsumerProgress(w));
            }
        }

        var total = meter.Total();
        consumer.Close();
        output.WriteLine(PerfFormat.ConsumerSummary(total));
        return total;
    }

    private void PrintError(string text)
    {
        if (Interlocked.Increment(ref _errorsPrinted) <= MaxErrorsPrinted)
        {
            error.WriteLine(text);
        }
    }

    private List<TopicPartitionOffset> PartitionsFromBeginning(IConsumer<int, int> consumer)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var metadata = admin.GetMetadata(options.Topic, MetadataTimeout);
        var topic = metadata.Topics.Find(t => t.Topic == options.Topic);
        if (topic is null || topic.Error.IsError || topic.Partitions.Count == 0)
        {
            var reason = topic is null ? "not in metadata" : topic.Error.IsError ? topic.Error.Reason : "no partitions";
            throw new KafkaException(new Error(ErrorCode.UnknownTopicOrPart, $"Topic {options.Topic}: {reason}"));
        }

        return topic.Partitions.ConvertAll(p => new TopicPartitionOffset(options.Topic, p.PartitionId, Offset.Beginning));
    }

    /// <summary>Deserializes a key or value to its size, so no byte[] is allocated per record. Stateless; thread-safe.</summary>
    private sealed class SizeDeserializer : IDeserializer<int>
    {
        public static readonly SizeDeserializer Instance = new();

        public int Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) => isNull ? 0 : data.Length;
    }
}
