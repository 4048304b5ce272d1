using System.Collections;
using System.Reflection;
using Broker.IntegrationTests.Infrastructure;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Records;
using Xunit.Abstractions;

namespace Broker.IntegrationTests.Wire;

/// <summary>
/// Seeded fuzzing over the wire: for every served API and version, requests that decode but carry random
/// field values (odd names, negative and extreme numbers, nulls, random record bytes). Each must be answered
/// or refused the way Kafka refuses it; the broker must log no handler failure and keep serving.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class FuzzTests
{
    private const int RequestsPerVersion = 6;
    private const int RequestsPerServedVersion = 40;
    private static readonly HashSet<ApiKey> Served = [ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata, ApiKey.ApiVersions, ApiKey.CreateTopics, ApiKey.DeleteTopics, ApiKey.CreatePartitions, ApiKey.DescribeCluster, ApiKey.DescribeConfigs, ApiKey.AlterConfigs, ApiKey.IncrementalAlterConfigs, ApiKey.DeleteRecords, ApiKey.DescribeLogDirs, ApiKey.OffsetForLeaderEpoch, ApiKey.ListPartitionReassignments, ApiKey.DescribeTopicPartitions, ApiKey.InitProducerId, ApiKey.DescribeProducers,
        ApiKey.FindCoordinator, ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Heartbeat, ApiKey.LeaveGroup, ApiKey.OffsetCommit, ApiKey.OffsetFetch,
        ApiKey.ListGroups, ApiKey.DescribeGroups, ApiKey.DeleteGroups, ApiKey.OffsetDelete];
    private static readonly string?[] Strings = [string.Empty, "t", "fuzz", "bad name!", "..", new string('x', 300), null];
    private static readonly long[] Numbers = [0, 1, -1, -2, -3, 2, 7, 100, short.MaxValue, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue];
    private static readonly NullabilityInfoContext Nullability = new();
    private static readonly System.Text.Json.JsonSerializerOptions DumpOptions = new() { MaxDepth = 16, Converters = { new MemoryLength() } };
    private readonly ITestOutputHelper _output;

    public FuzzTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task RandomRequests_EveryApiAndVersion_NoHandlerFailureAndStillServing()
    {
        await using var broker = await BrokerFixture.StartAsync(_output, ("auto.create.topics.enable", "true"));
        var random = new Random(20261125);
        var validBatch = BuildBatch();
        var client = await WireClient.ConnectAsync(broker.BootstrapServers);
        var sent = 0;
        var closed = 0;
        try
        {
            foreach (var type in ApiMessageTypes.All)
            {
                for (var version = type.LowestSupportedVersion; version <= type.HighestSupportedVersion; version++)
                {
                    for (var i = 0; i < (Served.Contains(type.Key) ? RequestsPerServedVersion : RequestsPerVersion); i++)
                    {
                        var request = type.CreateRequest();
                        Fill(request, version, random, validBatch, depth: 0);
                        if (request is FetchRequest fetch)
                        {
                            fetch.MaxWaitMs = random.Next(0, 20); // bounded so the test cannot park for minutes
                        }

                        if (request is JoinGroupRequest join)
                        {
                            // A join waits for the join phase, which ends at the rebalance timeout at the latest: keep it short.
                            join.RebalanceTimeoutMs = random.Next(0, 20);
                            join.SessionTimeoutMs = random.Next(0, 2000); // v0 uses it as the rebalance timeout
                        }

                        if (!TryEncode(request, version))
                        {
                            continue;
                        }

                        sent++;
                        try
                        {
                            if (request is ProduceRequest { Acks: 0 })
                            {
                                // No answer by design; a failure shows as a closed connection on the next request.
                                await client.SendWithoutResponseAsync((short)type.Key, version, request, type.RequestHeaderVersion(version));
                                continue;
                            }

                            await client.SendAsync((short)type.Key, version, request, type.RequestHeaderVersion(version), type.ResponseHeaderVersion(version));
                        }
                        catch (OperationCanceledException)
                        {
                            Assert.Fail($"No answer within 10 s to {type.Name} v{version}: {System.Text.Json.JsonSerializer.Serialize(request, request.GetType(), DumpOptions)}");
                        }
                        catch (IOException)
                        {
                            // Kafka closes the connection for unserved APIs and versions; reconnect and go on.
                            closed++;
                            await client.DisposeAsync();
                            client = await WireClient.ConnectAsync(broker.BootstrapServers);
                        }
                    }
                }
            }
        }
        finally
        {
            await client.DisposeAsync();
        }

        _output.WriteLine($"{sent} requests sent, {closed} connections closed by the broker");
        Assert.True(sent > 1000, $"only {sent} requests were sent");
        Assert.True(broker.LoggedErrors.Count == 0, string.Join(Environment.NewLine, broker.LoggedErrors.Distinct()));
        await using var probe = await WireClient.ConnectAsync(broker.BootstrapServers);
        var versions = await probe.SendAsync<ApiVersionsResponse>(18, 3, new ApiVersionsRequest { ClientSoftwareName = "probe", ClientSoftwareVersion = "1" }, 2, 0);
        Assert.Equal(0, versions.ErrorCode);
    }

    [Fact]
    public async Task RandomBytes_ManyConnections_BrokerKeepsServingAndLogsNoFailure()
    {
        await using var broker = await BrokerFixture.StartAsync(_output);
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            await using var client = await WireClient.ConnectAsync(broker.BootstrapServers);
            var body = new byte[random.Next(0, 2048)];
            random.NextBytes(body);
            if (body.Length >= 8 && random.Next(2) == 0)
            {
                // A plausible frame: right size prefix, a served API key and version, garbage after.
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(body, body.Length - 4);
                System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(4), (short)random.Next(0, 21));
                System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(6), (short)random.Next(0, 13));
            }

            await client.SendRawAsync(body);
        }

        await using var probe = await WireClient.ConnectAsync(broker.BootstrapServers);
        var versions = await probe.SendAsync<ApiVersionsResponse>(18, 3, new ApiVersionsRequest { ClientSoftwareName = "probe", ClientSoftwareVersion = "1" }, 2, 0);
        Assert.Equal(0, versions.ErrorCode);
        Assert.True(broker.LoggedErrors.Count == 0, string.Join(Environment.NewLine, broker.LoggedErrors.Distinct()));
    }

    private static byte[] BuildBatch()
    {
        using var builder = new RecordBatchBuilder(CompressionType.Lz4);
        builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), [1], [2, 3]);
        return builder.ToArray();
    }

    private static bool TryEncode(IApiMessage message, short version)
    {
        try
        {
            using var writer = new KafkaWriter();
            message.Write(writer, version);
            return true;
        }
        catch (Exception e) when (e is UnsupportedVersionException or InvalidOperationException)
        {
            return false;
        }
    }

    // Sets each public property to a random value, keeping it only if the message still encodes at this
    // version (fields a version lacks, or nulls it forbids, are put back).
    private static void Fill(object message, short version, Random random, byte[] validBatch, int depth)
    {
        foreach (var property in message.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var previous = property.GetValue(message);
            property.SetValue(message, NonNullIfRequired(property, RandomValue(property.PropertyType, version, random, validBatch, depth), previous));
            if (message is IApiMessage api && !TryEncode(api, version))
            {
                property.SetValue(message, previous);
            }
        }
    }

    private static object? RandomValue(Type type, short version, Random random, byte[] validBatch, int depth)
    {
        var number = Numbers[random.Next(Numbers.Length)];
        if (random.Next(3) == 0)
        {
            number = random.Next(-5, 50);
        }

        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying switch
        {
            _ when underlying == typeof(sbyte) => (sbyte)number,
            _ when underlying == typeof(short) => (short)number,
            _ when underlying == typeof(ushort) => (ushort)number,
            _ when underlying == typeof(int) => (int)number,
            _ when underlying == typeof(uint) => (uint)number,
            _ when underlying == typeof(long) => number,
            _ when underlying == typeof(double) => (double)number,
            _ when underlying == typeof(bool) => random.Next(2) == 0,
            _ when underlying == typeof(Guid) => random.Next(3) == 0 ? Guid.Empty : Guid.NewGuid(),
            _ when underlying == typeof(string) => Strings[random.Next(Strings.Length)],
            _ when underlying == typeof(ReadOnlyMemory<byte>) => RandomBytes(random, validBatch),
            _ when underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(List<>) =>
                depth > 3 || random.Next(6) == 0 ? (type == underlying ? Activator.CreateInstance(type) : null) : RandomList(underlying, version, random, validBatch, depth),
            _ when underlying.IsClass && underlying.GetConstructor(Type.EmptyTypes) is not null => RandomStruct(underlying, version, random, validBatch, depth),
            _ => null,
        };
    }

    // Decoded requests never hold null in a property the C# model declares non-nullable; neither do we.
    private static object? NonNullIfRequired(PropertyInfo property, object? value, object? fallback) =>
        value is null && Nullability.Create(property).WriteState != NullabilityState.Nullable ? fallback : value;

    private static ReadOnlyMemory<byte> RandomBytes(Random random, byte[] validBatch)
    {
        switch (random.Next(4))
        {
            case 0:
                return validBatch.AsMemory();
            case 1:
                var corrupt = validBatch.ToArray();
                corrupt[random.Next(corrupt.Length)] ^= (byte)random.Next(1, 256);
                return corrupt;
            case 2:
                return ReadOnlyMemory<byte>.Empty;
            default:
                var bytes = new byte[random.Next(1, 200)];
                random.NextBytes(bytes);
                return bytes;
        }
    }

    private static IList RandomList(Type listType, short version, Random random, byte[] validBatch, int depth)
    {
        var list = (IList)Activator.CreateInstance(listType)!;
        var elementType = listType.GetGenericArguments()[0];
        for (var i = random.Next(1, 4); i > 0; i--)
        {
            // Elements of generated lists are never null.
            if (RandomValue(elementType, version, random, validBatch, depth + 1) is { } element)
            {
                list.Add(element);
            }
        }

        return list;
    }

    private static object RandomStruct(Type type, short version, Random random, byte[] validBatch, int depth)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanWrite && property.GetIndexParameters().Length == 0 && random.Next(4) != 0)
            {
                var current = property.GetValue(instance);
                property.SetValue(instance, NonNullIfRequired(property, RandomValue(property.PropertyType, version, random, validBatch, depth + 1), current));
            }
        }

        return instance;
    }

    private sealed class MemoryLength : System.Text.Json.Serialization.JsonConverter<ReadOnlyMemory<byte>>
    {
        public override ReadOnlyMemory<byte> Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
            throw new NotSupportedException();

        public override void Write(System.Text.Json.Utf8JsonWriter writer, ReadOnlyMemory<byte> value, System.Text.Json.JsonSerializerOptions options) =>
            writer.WriteStringValue($"<{value.Length} bytes>");
    }
}
