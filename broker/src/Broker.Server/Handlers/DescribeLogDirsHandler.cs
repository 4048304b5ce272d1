using Broker.Protocol.Messages;
using Broker.Server.Dispatch;
using Broker.Storage;

namespace Broker.Server.Handlers;

/// <summary>
/// DescribeLogDirs (35): every log dir of this broker with the partitions it holds (all, or those asked for), their
/// sizes, offset lag 0 (a leader is never behind itself) and no future replicas (no intra-broker moves), and from v4
/// the file system's total and usable bytes. v0 is not served, as in Kafka 4. Thread-safe.
/// </summary>
internal sealed class DescribeLogDirsHandler : ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>
{
    private readonly BrokerServices _services;

    public DescribeLogDirsHandler(BrokerServices services)
    {
        _services = services;
    }

    public override short ApiKey => 35;

    public override short MinVersion => 1;

    public override short MaxVersion => 4;

    protected override ValueTask<DescribeLogDirsResponse?> HandleAsync(RequestContext context, DescribeLogDirsRequest request, CancellationToken cancellationToken)
    {
        HashSet<(string, int)>? wanted = null;
        if (request.Topics is { } topics)
        {
            wanted = [];
            foreach (var topic in topics)
            {
                foreach (var partition in topic.Partitions)
                {
                    wanted.Add((topic.Topic, partition));
                }
            }
        }

        var response = new DescribeLogDirsResponse();
        var logs = _services.Logs.AllLogs;
        foreach (var directory in _services.Logs.Directories)
        {
            var result = new DescribeLogDirsResponse.DescribeLogDirsResult { LogDir = directory.Path };
            var byTopic = new SortedDictionary<string, DescribeLogDirsResponse.DescribeLogDirsTopic>(StringComparer.Ordinal);
            foreach (var log in logs)
            {
                if (!IsIn(log, directory.Path) || (wanted is not null && !wanted.Contains((log.Topic, log.Partition))) || _services.Replicas.Get(log.Topic, log.Partition) is null)
                {
                    continue;
                }

                if (!byTopic.TryGetValue(log.Topic, out var topic))
                {
                    topic = new DescribeLogDirsResponse.DescribeLogDirsTopic { Name = log.Topic };
                    byTopic[log.Topic] = topic;
                }

                topic.Partitions.Add(new DescribeLogDirsResponse.DescribeLogDirsPartition
                {
                    PartitionIndex = log.Partition,
                    PartitionSize = log.SizeInBytes,
                    OffsetLag = 0,
                    IsFutureKey = false,
                });
            }

            foreach (var topic in byTopic.Values)
            {
                topic.Partitions.Sort(static (a, b) => a.PartitionIndex.CompareTo(b.PartitionIndex));
                result.Topics.Add(topic);
            }

            if (context.ApiVersion >= 4)
            {
                (result.TotalBytes, result.UsableBytes) = SpaceOf(directory.Path);
            }

            response.Results.Add(result);
        }

        return ValueTask.FromResult<DescribeLogDirsResponse?>(response);
    }

    private static bool IsIn(PartitionLog log, string directory) =>
        string.Equals(Path.GetDirectoryName(log.DirectoryPath), directory, StringComparison.Ordinal);

    private static (long Total, long Usable) SpaceOf(string directory)
    {
        try
        {
            var drive = new DriveInfo(directory);
            return (drive.TotalSize, drive.AvailableFreeSpace);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return (-1, -1);
        }
    }
}
