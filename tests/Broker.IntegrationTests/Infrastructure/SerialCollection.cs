namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// Tests that measure latency or drive real broker processes under load: they run alone, after the parallel
/// tests, so a busy machine does not distort what they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial (timing-sensitive)";
}
